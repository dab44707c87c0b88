/**
 * The state of an execution's tasks in memory: per task, the state and
 * number of its last attempt — two bytes a task, in typed arrays — so an
 * execution of 10,000 tasks costs 20 KB and no per-task object or row exists
 * before a task starts. Built once from the attempt rows; the runner updates
 * it as attempts start and end, and the execution's counters come from it.
 */
import { LIMITS } from '../limits.ts';
import type { Execution } from './model.ts';
import type { AttemptRow, AttemptState } from './store.ts';

/** Codes of a task's last attempt state. */
const CODE: Record<AttemptState | 'none', number> = {
  none: 0,
  running: 1,
  succeeded: 2,
  failed: 3,
  interrupted: 4,
  cancelled: 5,
};

/** Per task: the state and number of its last attempt. */
export interface TaskTable {
  readonly state: Uint8Array;
  readonly attempt: Int8Array;
}

/** The counters of Cloud Run's Execution resource. */
export interface TaskCounts {
  runningCount: number;
  succeededCount: number;
  failedCount: number;
  retriedCount: number;
  cancelledCount: number;
}

/** Builds the table from an execution's attempt rows (ordered by task and attempt). */
export function taskTable(taskCount: number, rows: readonly AttemptRow[]): TaskTable {
  const table = { state: new Uint8Array(taskCount), attempt: new Int8Array(taskCount) };
  for (const r of rows) {
    if (r.task_index < 0 || r.task_index >= taskCount) continue;
    // A success ends a task; the last row of a task wins otherwise.
    if (table.state[r.task_index] === CODE.succeeded) continue;
    table.state[r.task_index] = CODE[r.state];
    table.attempt[r.task_index] = r.attempt;
  }
  return table;
}

/** Records that attempt `attempt` of task `index` is now in `state`. */
export function recordAttempt(
  table: TaskTable,
  index: number,
  attempt: number,
  state: AttemptState,
): void {
  table.state[index] = CODE[state];
  table.attempt[index] = attempt;
}

/**
 * The counters, by Google's definitions: `retriedCount` is "the number of
 * tasks which have retried at least once", `failedCount` the tasks that
 * exhausted their retries.
 */
export function countTasks(table: TaskTable, maxRetries: number): TaskCounts {
  const counts: TaskCounts = {
    runningCount: 0,
    succeededCount: 0,
    failedCount: 0,
    retriedCount: 0,
    cancelledCount: 0,
  };
  for (let i = 0; i < table.state.length; i++) {
    const state = table.state[i];
    const attempt = table.attempt[i] ?? 0;
    if (state === CODE.succeeded) counts.succeededCount++;
    else if (state === CODE.running) counts.runningCount++;
    else if (state === CODE.failed && attempt >= maxRetries) counts.failedCount++;
    else if (state === CODE.cancelled) counts.cancelledCount++;
    if (attempt > 0) counts.retriedCount++;
  }
  return counts;
}

/**
 * The attempt task `index` resumes at, or -1 when it is finished: done
 * tasks are skipped, a failed attempt is followed by the next, an
 * interrupted or running one is run again.
 */
export function resumeAttempt(table: TaskTable, index: number, maxRetries: number): number {
  const state = table.state[index];
  const attempt = table.attempt[index] ?? 0;
  if (state === CODE.succeeded) return -1;
  if (state === CODE.failed) return attempt >= maxRetries ? -1 : attempt + 1;
  return state === CODE.none ? 0 : attempt;
}

/**
 * Why a stored execution cannot be run, or undefined: it must be within
 * Google's limits (an older local-cloud stored a taskCount of 1,000,000).
 */
export function unresumable(e: Execution): string | undefined {
  const containers = e.template?.containers;
  if (!Number.isInteger(e.taskCount) || e.taskCount < 1 || e.taskCount > LIMITS.jobTaskCount) {
    return `taskCount ${String(e.taskCount)} is outside [1, ${LIMITS.jobTaskCount}]`;
  }
  if (!Number.isInteger(e.parallelism) || e.parallelism < 0) return 'parallelism is invalid';
  const retries = e.template?.maxRetries;
  if (!Number.isInteger(retries) || retries < 0 || retries > LIMITS.jobMaxRetries) {
    return 'maxRetries is invalid';
  }
  if (!Array.isArray(containers) || containers.length !== 1) return 'it has no single container';
  return undefined;
}
