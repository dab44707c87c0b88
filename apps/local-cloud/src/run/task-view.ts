/**
 * Cloud Run Task resources (v2 `projects.locations.jobs.executions.tasks`,
 * https://cloud.google.com/run/docs/reference/rest/v2/projects.locations.jobs.executions.tasks)
 * built from an execution and the attempt rows of its tasks: nothing is
 * stored per task beyond its attempts. The v1 Task (v1-resources.ts) is made
 * from the same view.
 */
import { createHash } from 'node:crypto';
import { type Condition, type Execution, executionDone } from './model.ts';
import type { AttemptRow } from './store.ts';

/**
 * A task's state as gcloud shows it (v1 label `run.googleapis.com/runningState`,
 * `gcloud run jobs executions tasks list --succeeded/--failed/--running/--cancelled/--abandoned`).
 */
export type RunningState =
  | 'Pending'
  | 'Running'
  | 'Succeeded'
  | 'Failed'
  | 'Cancelled'
  | 'Abandoned';

/** A v2 Task resource. */
export interface TaskResource {
  name: string;
  uid: string;
  generation: string;
  labels?: Record<string, string>;
  createTime: string;
  startTime?: string;
  completionTime?: string;
  updateTime: string;
  job: string;
  execution: string;
  containers: Execution['template']['containers'];
  maxRetries: number;
  timeout: string;
  serviceAccount?: string;
  reconciling: boolean;
  conditions: Condition[];
  observedGeneration: string;
  index: number;
  retried: number;
  lastAttemptResult?: { exitCode: number; status: { code: number; message: string } };
  logUri?: string;
  etag: string;
}

/** The id of task `index` of an execution: `<execution id>-task<index>`. */
export function taskId(execution: Execution, index: number): string {
  return `${execution.name.split('/').at(-1)}-task${index}`;
}

/** The index named by a task id of `execution`, or undefined when it names none of its tasks. */
export function taskIndexOf(execution: Execution, id: string): number | undefined {
  const prefix = `${execution.name.split('/').at(-1)}-task`;
  if (!id.startsWith(prefix)) return undefined;
  const digits = id.slice(prefix.length);
  if (!/^(0|[1-9]\d*)$/.test(digits)) return undefined;
  const index = Number(digits);
  return index < execution.taskCount ? index : undefined;
}

/** A task's state from its attempts (ordered) and its execution's. */
export function runningState(execution: Execution, attempts: readonly AttemptRow[]): RunningState {
  const last = attempts.at(-1);
  if (attempts.some((a) => a.state === 'succeeded')) return 'Succeeded';
  if (last === undefined) {
    if (!executionDone(execution)) return 'Pending';
    return execution.cancelledCount > 0 ? 'Cancelled' : 'Abandoned';
  }
  if (last.state === 'cancelled') return 'Cancelled';
  if (last.state === 'failed') {
    if (last.attempt >= execution.template.maxRetries) return 'Failed';
    if (executionDone(execution)) return execution.cancelledCount > 0 ? 'Cancelled' : 'Failed';
    return 'Running';
  }
  // Running, or interrupted by a shutdown (it runs again after the restart).
  return executionDone(execution) ? 'Abandoned' : 'Running';
}

const CONDITION: Record<RunningState, Condition['state']> = {
  Pending: 'CONDITION_PENDING',
  Running: 'CONDITION_RECONCILING',
  Succeeded: 'CONDITION_SUCCEEDED',
  Failed: 'CONDITION_FAILED',
  Cancelled: 'CONDITION_FAILED',
  Abandoned: 'CONDITION_FAILED',
};

/** A stable UUID-shaped id for a task (tasks are not stored, so their uid is derived from the name). */
function uidOf(name: string): string {
  const h = createHash('sha256').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** The v2 Task resource of task `index`, from its attempt rows (ordered by attempt). */
export function taskResource(
  execution: Execution,
  index: number,
  attempts: readonly AttemptRow[],
): TaskResource {
  const state = runningState(execution, attempts);
  const last = attempts.at(-1);
  const name = `${execution.name}/tasks/${taskId(execution, index)}`;
  const first = attempts[0];
  const startTime = first?.start_ms ? new Date(first.start_ms).toISOString() : undefined;
  const ended = state === 'Succeeded' || state === 'Failed' || state === 'Cancelled';
  const completionTime = ended && last?.end_ms ? new Date(last.end_ms).toISOString() : undefined;
  const changed = last?.end_ms ?? last?.start_ms;
  const completed: Condition = {
    type: 'Completed',
    state: CONDITION[state],
    lastTransitionTime: changed ? new Date(changed).toISOString() : execution.createTime,
  };
  if (state === 'Cancelled') completed.executionReason = 'CANCELLED';
  if (state === 'Failed') completed.executionReason = 'NON_ZERO_EXIT_CODE';
  const template = execution.template;
  const task: TaskResource = {
    name,
    uid: uidOf(name),
    generation: '1',
    ...(execution.labels ? { labels: { ...execution.labels } } : {}),
    createTime: execution.createTime,
    ...(startTime ? { startTime } : {}),
    ...(completionTime ? { completionTime } : {}),
    updateTime: changed ? new Date(changed).toISOString() : execution.createTime,
    job: execution.job,
    execution: execution.name.split('/').at(-1) ?? '',
    containers: template.containers,
    maxRetries: template.maxRetries,
    timeout: template.timeout,
    ...(template.serviceAccount ? { serviceAccount: template.serviceAccount } : {}),
    reconciling: state === 'Pending' || state === 'Running',
    conditions: [completed],
    observedGeneration: '1',
    index,
    retried: Math.max(0, attempts.length - 1),
    ...(execution.logUri ? { logUri: execution.logUri } : {}),
    etag: `"${uidOf(`${name}#${attempts.length}#${state}`)}"`,
  };
  if (last && last.state !== 'running' && last.state !== 'interrupted') {
    task.lastAttemptResult = {
      exitCode: last.exit_code ?? 0,
      status: { code: last.state === 'succeeded' ? 0 : 2, message: last.message ?? '' },
    };
  }
  return task;
}
