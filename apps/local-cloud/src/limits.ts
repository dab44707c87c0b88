/**
 * Google's documented limits that local-cloud enforces, in one place. Past
 * one, a request is refused with 400 INVALID_ARGUMENT before anything is
 * stored or started, so no request can make local-cloud hold more than these
 * bounds allow (a `jobs:run` with taskCount 1,000,000 once froze it).
 */

/** The limits, with where Google documents each. */
export const LIMITS = {
  /**
   * Largest request body local-cloud reads (local: Google's front ends accept
   * more for some APIs). Above every per-field limit below: a 1 MB Cloud
   * Tasks body arrives base64-encoded in JSON (4/3 of its size, plus its
   * headers), a 128 KB workflow source JSON-escaped.
   */
  requestBodyBytes: 2 * 1024 * 1024,
  /** Cloud Run: "Maximum number of tasks in a single job: 10,000" (cloud.google.com/run/quotas). */
  jobTaskCount: 10_000,
  /** Cloud Run: "Maximum number of task retries in a job: 10" (cloud.google.com/run/quotas). */
  jobMaxRetries: 10,
  /** Cloud Run: a task timeout "up to 168 hours (7 days)" (cloud.google.com/run/docs/create-jobs). */
  jobTaskTimeoutMs: 168 * 3_600_000,
  /** Cloud Run: "a maximum of 1000 environment variables per container" (…/jobs/environment-variables). */
  jobEnvVars: 1000,
  /** Cloud Run v2 EnvVar: name "Must not exceed 32768 characters", value "maximum length is 32768 bytes". */
  jobEnvBytes: 32_768,
  /** Cloud Run: "Maximum number of running Job executions: 1000" per project and region (…/run/quotas). */
  runningJobExecutions: 1000,
  /** Secret Manager: a secret version's payload is at most 64 KiB. */
  secretBytes: 64 * 1024,
  /**
   * Cloud Tasks quotas and limits, "Maximum task size": 1MB
   * (cloud.google.com/tasks/docs/quotas#limits). The v2 CreateTask reference
   * still says 100KB, a leftover of App Engine queues (googleapis/google-cloud-go#7821
   * points out the two disagree; applications report meeting the limit at
   * 1MB in production, e.g. snarfed/bridgy-fed#2592). Counted
   * as url + headers + body; "1MB" taken as 10^6 bytes, the stricter reading,
   * so nothing accepted here is refused by Google for its size.
   */
  taskBytes: 1_000_000,
  /** Cloud Tasks v2 HttpRequest.headers: "The size of the headers must be less than 80KB" (target.proto). */
  taskHeaderBytes: 80 * 1024,
  /**
   * Cloud Tasks v2 Task.dispatch_deadline of an HTTP task: "The deadline must
   * be in the interval [15 seconds, 30 minutes]" (the default is 10 minutes).
   */
  taskDispatchDeadlineMinMs: 15_000,
  taskDispatchDeadlineMaxMs: 30 * 60_000,
  /** Cloud Tasks quotas: "Maximum schedule time for a task: 30 days from current date and time". */
  taskScheduleAheadMs: 30 * 86_400_000,
  /** Workflows v1 Workflow.source_contents: "The size limit is 128KB" (workflows.proto). */
  workflowSourceBytes: 128 * 1024,
  /** Workflows v1 user_env_vars: "a maximum length of 20. Each string can take up to 4KiB" (workflows.proto). */
  workflowEnvVars: 20,
  workflowEnvVarBytes: 4 * 1024,
  /** Executions v1 Execution.argument: "The size limit is 32KB" (executions.proto). */
  executionArgumentBytes: 32 * 1024,
  /**
   * Workflow.labels and Execution.labels: "at most 64 entries. Keys and values can be no
   * longer than 63 characters" (workflows.proto, executions.proto); the characters in
   * workflows-api/labels.ts.
   */
  labels: 64,
  labelChars: 63,
} as const;
