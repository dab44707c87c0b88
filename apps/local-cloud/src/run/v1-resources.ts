/**
 * The Cloud Run Admin API v1 (Knative-style) views of local-cloud's jobs,
 * executions and tasks, which `gcloud run jobs` reads and writes
 * (https://cloud.google.com/run/docs/reference/rest/v1/namespaces.jobs,
 * …/namespaces.executions, …/namespaces.tasks). The v2 model (model.ts) is
 * the only one stored; these functions translate in both directions:
 * `metadata` / `spec` / `status` out, v1 Job specs and RunJobRequest
 * overrides in.
 *
 * Mapping (v2 → v1): a v2 Condition's state becomes status "True" (succeeded),
 * "False" (failed) or "Unknown", its executionReason a CamelCase reason
 * (`Cancelled` is what gcloud's `executions cancel` waits for); int32 fields
 * are numbers and int64 ones (`timeoutSeconds`) strings, as in proto3 JSON;
 * the location is the label `cloud.googleapis.com/location`, the parent job
 * the label `run.googleapis.com/job`, a task's execution and state the labels
 * `run.googleapis.com/execution` and `run.googleapis.com/runningState`.
 */
import { invalidArgument } from '../google-error.ts';
import { obj } from '../json-object.ts';
import { parseDuration } from '../time.ts';
import type { Condition, Container, EnvVar, Execution, Job, TaskTemplate } from './model.ts';
import type { RunningState, TaskResource } from './task-view.ts';

/** `apiVersion` of every v1 resource. */
export const V1_API_VERSION = 'run.googleapis.com/v1';
/** Labels gcloud reads (api_lib/run: k8s_object.REGION_LABEL, execution.JOB_LABEL, task.EXECUTION_LABEL, task.STATE_LABEL). */
export const LABEL = {
  location: 'cloud.googleapis.com/location',
  job: 'run.googleapis.com/job',
  execution: 'run.googleapis.com/execution',
  runningState: 'run.googleapis.com/runningState',
  taskIndex: 'run.googleapis.com/taskIndex',
} as const;

type Json = Record<string, unknown>;

/** Where a v2 resource lives: `projects/P/locations/L/jobs/J[/executions/E]`. */
function placeOf(name: string): { project: string; location: string; job: string } {
  const [, project = '', , location = '', , job = ''] = name.split('/');
  return { project, location, job };
}

function selfLink(project: string, collection: string, id: string): string {
  return `/apis/run.googleapis.com/v1/namespaces/${project}/${collection}/${id}`;
}

const REASON = { CANCELLED: 'Cancelled', NON_ZERO_EXIT_CODE: 'NonZeroExitCode' } as const;

/** A v2 Condition as a v1 (Kubernetes) condition. */
export function v1Condition(c: Condition): Json {
  const status =
    c.state === 'CONDITION_SUCCEEDED'
      ? 'True'
      : c.state === 'CONDITION_FAILED'
        ? 'False'
        : 'Unknown';
  return {
    type: c.type,
    status,
    ...(c.executionReason ? { reason: REASON[c.executionReason] } : {}),
    ...(c.message ? { message: c.message } : {}),
    lastTransitionTime: c.lastTransitionTime,
  };
}

function v1Env(e: EnvVar): Json {
  const ref = e.valueSource?.secretKeyRef;
  if (ref === undefined) return { name: e.name, value: e.value ?? '' };
  // v1 SecretKeySelector: `name` is the secret, `key` its version.
  return {
    name: e.name,
    valueFrom: { secretKeyRef: { name: ref.secret, key: ref.version ?? 'latest' } },
  };
}

function v1Container(c: Container): Json {
  return {
    ...(c.name ? { name: c.name } : {}),
    image: c.image ?? '',
    ...(c.command ? { command: c.command } : {}),
    ...(c.args ? { args: c.args } : {}),
    ...(c.env ? { env: c.env.map(v1Env) } : {}),
    ...(c.resources?.limits ? { resources: { limits: c.resources.limits } } : {}),
  };
}

/** A v2 TaskTemplate as a v1 TaskSpec. */
function v1TaskSpec(t: TaskTemplate): Json {
  return {
    containers: t.containers.map(v1Container),
    maxRetries: t.maxRetries,
    timeoutSeconds: String(Math.round(parseDuration(t.timeout, 'timeout') / 1000)),
    ...(t.serviceAccount ? { serviceAccountName: t.serviceAccount } : {}),
  };
}

/** The v1 Job of a v2 job. */
export function v1Job(job: Job): Json {
  const { project, location, job: id } = placeOf(job.name);
  const latest = job.latestCreatedExecution;
  return {
    apiVersion: V1_API_VERSION,
    kind: 'Job',
    metadata: {
      name: id,
      namespace: project,
      selfLink: selfLink(project, 'jobs', id),
      uid: job.uid,
      resourceVersion: job.etag,
      generation: Number(job.generation),
      creationTimestamp: job.createTime,
      // Cloud Run's v1 jobs carry their last update as a label (gcloud: job.last_modified_timestamp).
      labels: {
        ...job.labels,
        [LABEL.location]: location,
        'run.googleapis.com/lastUpdatedTime': job.updateTime,
      },
    },
    spec: {
      template: {
        // gcloud wraps the template as a full object and needs its metadata (k8s_object AssertFullObject).
        metadata: job.labels ? { labels: job.labels } : {},
        spec: {
          parallelism: job.template.parallelism,
          taskCount: job.template.taskCount,
          template: { spec: v1TaskSpec(job.template.template) },
        },
      },
    },
    status: {
      observedGeneration: Number(job.observedGeneration ?? job.generation),
      conditions: job.terminalCondition ? [v1Condition(job.terminalCondition)] : [],
      executionCount: job.executionCount,
      ...(latest
        ? {
            latestCreatedExecution: {
              name: latest.name.split('/').at(-1),
              creationTimestamp: latest.createTime,
              ...(latest.completionTime ? { completionTimestamp: latest.completionTime } : {}),
              ...(latest.completionStatus ? { completionStatus: latest.completionStatus } : {}),
            },
          }
        : {}),
    },
  };
}

/** The labels of a v1 execution (the job's labels, its location and its job). */
export function v1ExecutionLabels(execution: Execution): Record<string, string> {
  const { location, job } = placeOf(execution.name);
  return { ...execution.labels, [LABEL.location]: location, [LABEL.job]: job };
}

/** The v1 Execution of a v2 execution. */
export function v1Execution(execution: Execution): Json {
  const { project } = placeOf(execution.name);
  const id = execution.name.split('/').at(-1) ?? '';
  return {
    apiVersion: V1_API_VERSION,
    kind: 'Execution',
    metadata: {
      name: id,
      namespace: project,
      selfLink: selfLink(project, 'executions', id),
      uid: execution.uid,
      resourceVersion: execution.etag,
      generation: Number(execution.generation ?? 1),
      creationTimestamp: execution.createTime,
      labels: v1ExecutionLabels(execution),
    },
    spec: {
      parallelism: execution.parallelism,
      taskCount: execution.taskCount,
      template: { spec: v1TaskSpec(execution.template) },
    },
    status: {
      observedGeneration: Number(execution.observedGeneration ?? 1),
      conditions: execution.conditions.map(v1Condition),
      ...(execution.startTime ? { startTime: execution.startTime } : {}),
      ...(execution.completionTime ? { completionTime: execution.completionTime } : {}),
      runningCount: execution.runningCount,
      succeededCount: execution.succeededCount,
      failedCount: execution.failedCount,
      cancelledCount: execution.cancelledCount,
      retriedCount: execution.retriedCount,
      ...(execution.logUri ? { logUri: execution.logUri } : {}),
    },
  };
}

/** The labels of a v1 task: its execution's, plus the execution, the state and the index. */
export function v1TaskLabels(
  execution: Execution,
  task: TaskResource,
  state: RunningState,
): Record<string, string> {
  return {
    ...v1ExecutionLabels(execution),
    [LABEL.execution]: task.execution,
    [LABEL.runningState]: state,
    [LABEL.taskIndex]: String(task.index),
  };
}

/** The v1 Task of a v2 task resource. */
export function v1Task(execution: Execution, task: TaskResource, state: RunningState): Json {
  const { project } = placeOf(execution.name);
  const id = task.name.split('/').at(-1) ?? '';
  return {
    apiVersion: V1_API_VERSION,
    kind: 'Task',
    metadata: {
      name: id,
      namespace: project,
      selfLink: selfLink(project, 'tasks', id),
      uid: task.uid,
      resourceVersion: task.etag,
      generation: 1,
      creationTimestamp: task.createTime,
      labels: v1TaskLabels(execution, task, state),
    },
    spec: v1TaskSpec(execution.template),
    status: {
      observedGeneration: 1,
      conditions: task.conditions.map(v1Condition),
      index: task.index,
      ...(task.startTime ? { startTime: task.startTime } : {}),
      ...(task.completionTime ? { completionTime: task.completionTime } : {}),
      retried: task.retried,
      ...(task.lastAttemptResult ? { lastAttemptResult: task.lastAttemptResult } : {}),
      ...(task.logUri ? { logUri: task.logUri } : {}),
    },
  };
}

/** A v1 EnvVar as a v2 one (`valueFrom.secretKeyRef {name, key}` → `valueSource.secretKeyRef {secret, version}`). */
function v2Env(raw: unknown): Json {
  const e = obj(raw);
  const ref = obj(obj(e.valueFrom).secretKeyRef);
  if (Object.keys(ref).length === 0) return { name: e.name, value: e.value ?? '' };
  return {
    name: e.name,
    valueSource: { secretKeyRef: { secret: ref.name, version: ref.key ?? 'latest' } },
  };
}

/**
 * RunJobRequest.overrides of v1 (`timeoutSeconds`, env as v1 EnvVars) as v2
 * overrides (`timeout`), which model.ts applyOverrides checks like any other.
 */
export function v2Overrides(raw: unknown): Json {
  const o = obj(raw);
  const out: Json = {};
  if (o.taskCount !== undefined && o.taskCount !== null) out.taskCount = o.taskCount;
  if (o.timeoutSeconds !== undefined && o.timeoutSeconds !== null) {
    out.timeout = `${String(o.timeoutSeconds)}s`;
  }
  if (Array.isArray(o.containerOverrides)) {
    out.containerOverrides = o.containerOverrides.map((raw) => {
      const co = obj(raw);
      return {
        ...(typeof co.name === 'string' ? { name: co.name } : {}),
        ...(co.args !== undefined ? { args: co.args } : {}),
        ...(co.clearArgs !== undefined ? { clearArgs: co.clearArgs } : {}),
        ...(Array.isArray(co.env) ? { env: co.env.map(v2Env) } : {}),
      };
    });
  }
  return out;
}

/** Labels that belong to Cloud Run or its clients, not to the user (not stored on a v2 job). */
function userLabels(labels: Json): Record<string, string> | undefined {
  const kept = Object.entries(labels).filter(
    ([k]) => !/(^|\.)googleapis\.com\/|(^|\.)knative\.dev\//.test(k),
  );
  return kept.length > 0 ? Object.fromEntries(kept.map(([k, v]) => [k, String(v)])) : undefined;
}

/**
 * A v1 Job (create or replaceJob body) as the v2 body model.ts
 * normalizeTemplate checks: `spec.template.spec` → ExecutionTemplate,
 * its `template.spec` → TaskTemplate.
 */
export function v2JobBody(raw: unknown): { template: Json; labels?: Record<string, string> } {
  const job = obj(raw);
  const execSpec = obj(obj(obj(job.spec).template).spec);
  const taskSpec = obj(obj(execSpec.template).spec);
  if (!Array.isArray(taskSpec.containers)) {
    throw invalidArgument('spec.template.spec.template.spec.containers is required.');
  }
  const containers = taskSpec.containers.map((raw) => {
    const c = obj(raw);
    return {
      ...(typeof c.name === 'string' ? { name: c.name } : {}),
      ...(typeof c.image === 'string' ? { image: c.image } : {}),
      ...(c.command !== undefined ? { command: c.command } : {}),
      ...(c.args !== undefined ? { args: c.args } : {}),
      ...(Array.isArray(c.env) ? { env: c.env.map(v2Env) } : {}),
      ...(c.resources !== undefined ? { resources: c.resources } : {}),
    };
  });
  const template: Json = {
    ...(execSpec.taskCount !== undefined ? { taskCount: execSpec.taskCount } : {}),
    ...(execSpec.parallelism !== undefined ? { parallelism: execSpec.parallelism } : {}),
    template: {
      containers,
      ...(taskSpec.maxRetries !== undefined ? { maxRetries: taskSpec.maxRetries } : {}),
      ...(taskSpec.timeoutSeconds !== undefined
        ? { timeout: `${String(taskSpec.timeoutSeconds)}s` }
        : {}),
      ...(typeof taskSpec.serviceAccountName === 'string'
        ? { serviceAccount: taskSpec.serviceAccountName }
        : {}),
    },
  };
  const labels = userLabels(obj(obj(job.metadata).labels));
  return labels ? { template, labels } : { template };
}
