/**
 * Cloud Run Admin API v2 job and execution resources
 * (https://cloud.google.com/run/docs/reference/rest/v2/projects.locations.jobs,
 * …/projects.locations.jobs.executions): validation against Google's limits
 * (src/limits.ts) and the local job policy (run/job-policy.ts), Google's
 * defaults (taskCount 1, maxRetries 3, timeout 600s), and `jobs:run`
 * overrides.
 */
import { invalidArgument } from '../google-error.ts';
import { obj } from '../json-object.ts';
import { LIMITS } from '../limits.ts';
import { formatDuration, parseDuration } from '../time.ts';
import type { JobPolicy, SecretKeyRef } from './job-policy.ts';

/** An env var of a container: a literal value or a Secret Manager reference. */
export interface EnvVar {
  name: string;
  value?: string;
  valueSource?: { secretKeyRef: SecretKeyRef };
}

/** The container fields local-cloud uses. */
export interface Container {
  name?: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  resources?: { limits?: Record<string, string> };
}

/** TaskTemplate. */
export interface TaskTemplate {
  containers: Container[];
  maxRetries: number;
  timeout: string;
  serviceAccount?: string;
}

/** ExecutionTemplate. */
export interface ExecutionTemplate {
  taskCount: number;
  parallelism: number;
  template: TaskTemplate;
}

/** ExecutionReference.completionStatus (v2 and v1 share the enum). */
export type CompletionStatus =
  | 'EXECUTION_SUCCEEDED'
  | 'EXECUTION_FAILED'
  | 'EXECUTION_RUNNING'
  | 'EXECUTION_PENDING'
  | 'EXECUTION_CANCELLED';

/** ExecutionReference: the job's latest execution. */
export interface ExecutionReference {
  name: string;
  createTime: string;
  completionTime?: string;
  completionStatus?: CompletionStatus;
}

/** A job as stored and returned. */
export interface Job {
  name: string;
  uid: string;
  generation: string;
  createTime: string;
  updateTime: string;
  launchStage: string;
  template: ExecutionTemplate;
  labels?: Record<string, string>;
  /** The generation the (local, immediate) reconciliation has applied: always `generation`. */
  observedGeneration?: string;
  /** `Ready`, succeeded once the job is stored: a job here is ready to run at once. */
  terminalCondition?: Condition;
  conditions?: Condition[];
  executionCount: number;
  latestCreatedExecution?: ExecutionReference;
  reconciling: boolean;
  etag: string;
}

/** Condition.executionReason values local-cloud sets (v2 Condition.ExecutionReason). */
export type ExecutionReason = 'NON_ZERO_EXIT_CODE' | 'CANCELLED';

/** A condition of a job, execution or task (v2 Condition). */
export interface Condition {
  type: string;
  state: 'CONDITION_PENDING' | 'CONDITION_RECONCILING' | 'CONDITION_FAILED' | 'CONDITION_SUCCEEDED';
  message?: string;
  lastTransitionTime: string;
  executionReason?: ExecutionReason;
}

/** An execution as stored and returned. */
export interface Execution {
  name: string;
  uid: string;
  /** The parent job's id (`my-job`), as Google returns it; the name holds the full path. */
  job: string;
  generation?: string;
  observedGeneration?: string;
  labels?: Record<string, string>;
  /** Where Google would show its logs (Cloud Logging); local task output is in local-cloud's log. */
  logUri?: string;
  createTime: string;
  startTime?: string;
  completionTime?: string;
  updateTime: string;
  launchStage: string;
  parallelism: number;
  taskCount: number;
  template: TaskTemplate;
  reconciling: boolean;
  conditions: Condition[];
  runningCount: number;
  succeededCount: number;
  failedCount: number;
  cancelledCount: number;
  retriedCount: number;
  etag: string;
}

function strings(v: unknown, field: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw invalidArgument(`Expected a list of strings for ${field}.`);
  return v.map(String);
}

function envList(v: unknown, field: string, policy: JobPolicy): EnvVar[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw invalidArgument(`Expected a list for ${field}.`);
  if (v.length > LIMITS.jobEnvVars) {
    throw invalidArgument(
      `${field} holds ${v.length} variables; the limit is ${LIMITS.jobEnvVars}.`,
    );
  }
  return v.map((e, i) => {
    const o = obj(e);
    const at = `${field}[${i}]`;
    if (typeof o.name !== 'string' || o.name === '')
      throw invalidArgument(`${at}.name is required.`);
    if (o.name.length > LIMITS.jobEnvBytes) {
      throw invalidArgument(`${at}.name is longer than ${LIMITS.jobEnvBytes} characters.`);
    }
    policy.checkEnvName(o.name, at);
    if (o.valueSource !== undefined) {
      if (o.value !== undefined)
        throw invalidArgument(`${at}: set value or valueSource, not both.`);
      const secretKeyRef = policy.checkSecret(
        obj(o.valueSource).secretKeyRef,
        `${at}.valueSource.secretKeyRef`,
      );
      return { name: o.name, valueSource: { secretKeyRef } };
    }
    const value = String(o.value ?? '');
    if (Buffer.byteLength(value) > LIMITS.jobEnvBytes) {
      throw invalidArgument(`${at}.value is longer than ${LIMITS.jobEnvBytes} bytes.`);
    }
    return { name: o.name, value };
  });
}

function container(v: unknown, i: number, policy: JobPolicy): Container {
  const o = obj(v);
  const c: Container = {};
  if (typeof o.name === 'string') c.name = o.name;
  if (typeof o.image === 'string') c.image = o.image;
  const command = strings(o.command, `containers[${i}].command`);
  if (command) c.command = command;
  const args = strings(o.args, `containers[${i}].args`);
  if (args) c.args = args;
  const env = envList(o.env, `containers[${i}].env`, policy);
  if (env) c.env = env;
  const limits = obj(obj(o.resources).limits);
  if (Object.keys(limits).length > 0) {
    c.resources = {
      limits: Object.fromEntries(Object.entries(limits).map(([k, x]) => [k, String(x)])),
    };
  }
  return c;
}

function taskTimeout(value: unknown, field: string): string {
  const ms = parseDuration(value, field);
  if (ms <= 0 || ms > LIMITS.jobTaskTimeoutMs) {
    throw invalidArgument(`${field} must be positive and at most 168 hours.`);
  }
  return formatDuration(ms);
}

function taskCountOf(value: unknown, field: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > LIMITS.jobTaskCount) {
    throw invalidArgument(`${field} must be an integer in [1, ${LIMITS.jobTaskCount}].`);
  }
  return n;
}

/**
 * The ExecutionTemplate of a Job body with Google's defaults, checked against
 * Google's limits and the job policy (the command line must be a registered
 * one, the pinned variables set to their registered values).
 */
export function normalizeTemplate(input: unknown, policy: JobPolicy): ExecutionTemplate {
  const t = obj(input);
  const tt = obj(t.template);
  const containers = Array.isArray(tt.containers)
    ? tt.containers.map((c, i) => container(c, i, policy))
    : [];
  if (containers.length !== 1) {
    throw invalidArgument('template.template.containers must hold exactly one container locally.');
  }
  const taskCount = taskCountOf(t.taskCount ?? 1, 'taskCount');
  const parallelism = Number(t.parallelism ?? 0);
  const maxRetries = Number(tt.maxRetries ?? 3);
  // "an integer between 0 and the maximum number of tasks running in parallel allowed
  // by quota that don't exceed the number of tasks" (cloud.google.com/run/docs/configuring/parallelism).
  if (!Number.isInteger(parallelism) || parallelism < 0 || parallelism > taskCount) {
    throw invalidArgument('parallelism must be an integer in [0, taskCount].');
  }
  if (!Number.isInteger(maxRetries) || maxRetries < 0 || maxRetries > LIMITS.jobMaxRetries) {
    throw invalidArgument(`maxRetries must be an integer in [0, ${LIMITS.jobMaxRetries}].`);
  }
  const only = containers[0] as Container;
  policy.checkContainer(only, 'template.template.containers[0]');
  const template: TaskTemplate = {
    containers,
    maxRetries,
    timeout: taskTimeout(tt.timeout ?? '600s', 'template.template.timeout'),
  };
  if (typeof tt.serviceAccount === 'string') template.serviceAccount = tt.serviceAccount;
  return { taskCount, parallelism, template };
}

/**
 * Applies RunJobRequest.overrides to a job's template: `taskCount`, `timeout`
 * and `containerOverrides[].env` (merged by name). Deviation: Google also
 * accepts `containerOverrides[].args` / `clearArgs`; local-cloud refuses them,
 * because the arguments of a local process are what it executes.
 */
export function applyOverrides(
  template: ExecutionTemplate,
  overridesInput: unknown,
  policy: JobPolicy,
): ExecutionTemplate {
  const out = structuredClone(template);
  const o = obj(overridesInput);
  if (o.taskCount !== undefined) out.taskCount = taskCountOf(o.taskCount, 'overrides.taskCount');
  if (o.timeout !== undefined) out.template.timeout = taskTimeout(o.timeout, 'overrides.timeout');
  const list = Array.isArray(o.containerOverrides) ? o.containerOverrides : [];
  for (const [i, raw] of list.entries()) {
    const co = obj(raw);
    const at = `overrides.containerOverrides[${i}]`;
    const target =
      typeof co.name === 'string' && co.name !== ''
        ? out.template.containers.find((c) => c.name === co.name)
        : out.template.containers[0];
    if (!target) throw invalidArgument(`${at} names no container.`);
    const args = strings(co.args, `${at}.args`);
    if ((args && args.length > 0) || co.clearArgs === true) {
      throw invalidArgument(
        `${at}: local-cloud does not override args (a job runs only the command line it was registered with); env, taskCount and timeout may be overridden.`,
      );
    }
    for (const e of envList(co.env, `${at}.env`, policy) ?? []) {
      target.env = [...(target.env ?? []).filter((x) => x.name !== e.name), e];
    }
    if ((target.env?.length ?? 0) > LIMITS.jobEnvVars) {
      throw invalidArgument(
        `${at}.env: a container may have at most ${LIMITS.jobEnvVars} variables.`,
      );
    }
  }
  return out;
}

/** True when the execution finished with every task succeeded. */
export function executionSucceeded(e: Execution): boolean {
  return e.conditions.some((c) => c.type === 'Completed' && c.state === 'CONDITION_SUCCEEDED');
}

/** True when the execution is finished (succeeded, failed or cancelled). */
export function executionDone(e: Execution): boolean {
  return e.completionTime !== undefined;
}

/**
 * Marks a job as reconciled at `time`: Cloud Run reports `observedGeneration`
 * = `generation` and a `Ready` terminal condition once a job can run, which
 * locally is as soon as it is stored.
 */
export function reconciled(job: Job, time: string): Job {
  job.observedGeneration = job.generation;
  job.terminalCondition = { type: 'Ready', state: 'CONDITION_SUCCEEDED', lastTransitionTime: time };
  job.conditions = [];
  return job;
}

/**
 * The Cloud Logging address Google gives an execution's `logUri`: the logs
 * viewer filtered on the job, its location and the execution
 * (resource.type cloud_run_job, label run.googleapis.com/execution_name).
 */
export function executionLogUri(executionName: string): string {
  const [, project, , location, , job, , execution] = executionName.split('/');
  const filter = [
    'resource.type="cloud_run_job"',
    `resource.labels.job_name="${job}"`,
    `resource.labels.location="${location}"`,
    `labels."run.googleapis.com/execution_name"="${execution}"`,
  ].join('\n');
  return `https://console.cloud.google.com/logs/viewer?project=${project}&advancedFilter=${encodeURIComponent(filter)}`;
}

/** Parses a Kubernetes quantity ("512Mi", "1Gi", "800M") into bytes. */
export function parseMemory(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|K|M|G|T)?$/.exec(value.trim());
  if (!m?.[1]) throw invalidArgument(`Invalid memory quantity: ${value}`);
  const unit: Record<string, number> = {
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
    k: 1e3,
    K: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  };
  return Math.round(Number(m[1]) * (m[2] ? (unit[m[2]] ?? 1) : 1));
}
