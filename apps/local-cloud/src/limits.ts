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
   * more for some APIs). Above every per-field limit below, with room for
   * JSON escaping of a 128 KB workflow source.
   */
  requestBodyBytes: 1024 * 1024,
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
  /** Cloud Tasks v2 CreateTask: "The maximum task size is 100KB" (cloudtasks.proto). */
  taskBytes: 100 * 1024,
  /** Cloud Tasks v2 HttpRequest.headers: "The size of the headers must be less than 80KB" (target.proto). */
  taskHeaderBytes: 80 * 1024,
  /** Workflows v1 Workflow.source_contents: "The size limit is 128KB" (workflows.proto). */
  workflowSourceBytes: 128 * 1024,
  /** Workflows v1 user_env_vars: "a maximum length of 20. Each string can take up to 4KiB" (workflows.proto). */
  workflowEnvVars: 20,
  workflowEnvVarBytes: 4 * 1024,
  /** Executions v1 Execution.argument: "The size limit is 32KB" (executions.proto). */
  executionArgumentBytes: 32 * 1024,
} as const;
