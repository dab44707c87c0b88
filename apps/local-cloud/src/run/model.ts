/**
 * Cloud Run Admin API v2 job and execution resources
 * (https://cloud.google.com/run/docs/reference/rest/v2/projects.locations.jobs,
 * …/projects.locations.jobs.executions): validation, Google's defaults
 * (taskCount 1, maxRetries 3, timeout 600s), and `jobs:run` overrides.
 */
import { invalidArgument } from '../google-error.ts';
import { formatDuration, parseDuration } from '../time.ts';

/** An env var of a container. */
export interface EnvVar {
  name: string;
  value: string;
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
  executionCount: number;
  latestCreatedExecution?: { name: string; createTime: string; completionTime?: string };
  reconciling: boolean;
  etag: string;
}

/** A condition of an execution. */
export interface Condition {
  type: string;
  state: 'CONDITION_PENDING' | 'CONDITION_RECONCILING' | 'CONDITION_FAILED' | 'CONDITION_SUCCEEDED';
  message?: string;
  lastTransitionTime: string;
}

/** An execution as stored and returned. */
export interface Execution {
  name: string;
  uid: string;
  job: string;
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

function obj(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : {};
}

function strings(v: unknown, field: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw invalidArgument(`Expected a list of strings for ${field}.`);
  return v.map(String);
}

function envList(v: unknown, field: string): EnvVar[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw invalidArgument(`Expected a list for ${field}.`);
  return v.map((e) => {
    const o = obj(e);
    if (typeof o.name !== 'string' || o.name === '')
      throw invalidArgument(`${field}[].name is required.`);
    if (o.valueSource !== undefined) {
      throw invalidArgument(
        `${field}[].valueSource (Secret Manager) is not supported by local-cloud.`,
      );
    }
    return { name: o.name, value: String(o.value ?? '') };
  });
}

function container(v: unknown, i: number): Container {
  const o = obj(v);
  const c: Container = {};
  if (typeof o.name === 'string') c.name = o.name;
  if (typeof o.image === 'string') c.image = o.image;
  const command = strings(o.command, `containers[${i}].command`);
  if (command) c.command = command;
  const args = strings(o.args, `containers[${i}].args`);
  if (args) c.args = args;
  const env = envList(o.env, `containers[${i}].env`);
  if (env) c.env = env;
  const limits = obj(obj(o.resources).limits);
  if (Object.keys(limits).length > 0) {
    c.resources = {
      limits: Object.fromEntries(Object.entries(limits).map(([k, x]) => [k, String(x)])),
    };
  }
  return c;
}

/** The ExecutionTemplate of a Job body with Google's defaults. */
export function normalizeTemplate(input: unknown): ExecutionTemplate {
  const t = obj(input);
  const tt = obj(t.template);
  const containers = Array.isArray(tt.containers) ? tt.containers.map(container) : [];
  if (containers.length !== 1) {
    throw invalidArgument('template.template.containers must hold exactly one container locally.');
  }
  const taskCount = Number(t.taskCount ?? 1);
  const parallelism = Number(t.parallelism ?? 0);
  const maxRetries = Number(tt.maxRetries ?? 3);
  if (!Number.isInteger(taskCount) || taskCount < 1 || taskCount > 10_000) {
    throw invalidArgument('taskCount must be an integer in [1, 10000].');
  }
  if (!Number.isInteger(parallelism) || parallelism < 0) {
    throw invalidArgument('parallelism must be a non-negative integer.');
  }
  if (!Number.isInteger(maxRetries) || maxRetries < 0 || maxRetries > 10) {
    throw invalidArgument('maxRetries must be an integer in [0, 10].');
  }
  const template: TaskTemplate = {
    containers,
    maxRetries,
    timeout: formatDuration(parseDuration(tt.timeout ?? '600s', 'template.template.timeout')),
  };
  if (typeof tt.serviceAccount === 'string') template.serviceAccount = tt.serviceAccount;
  return { taskCount, parallelism, template };
}

/** Applies RunJobRequest.overrides to a job's template (env merged by name, args replaced). */
export function applyOverrides(
  template: ExecutionTemplate,
  overridesInput: unknown,
): ExecutionTemplate {
  const out = structuredClone(template);
  const o = obj(overridesInput);
  if (o.taskCount !== undefined) {
    const n = Number(o.taskCount);
    if (!Number.isInteger(n) || n < 1) throw invalidArgument('overrides.taskCount must be >= 1.');
    out.taskCount = n;
  }
  if (o.timeout !== undefined) {
    out.template.timeout = formatDuration(parseDuration(o.timeout, 'overrides.timeout'));
  }
  const list = Array.isArray(o.containerOverrides) ? o.containerOverrides : [];
  for (const [i, raw] of list.entries()) {
    const co = obj(raw);
    const target =
      typeof co.name === 'string' && co.name !== ''
        ? out.template.containers.find((c) => c.name === co.name)
        : out.template.containers[0];
    if (!target) throw invalidArgument(`overrides.containerOverrides[${i}] names no container.`);
    const args = strings(co.args, `containerOverrides[${i}].args`);
    if (co.clearArgs === true) target.args = [];
    if (args && args.length > 0) target.args = args;
    for (const e of envList(co.env, `containerOverrides[${i}].env`) ?? []) {
      target.env = [...(target.env ?? []).filter((x) => x.name !== e.name), e];
    }
  }
  return out;
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
