/**
 * How an execution's record changes over its life, as pure functions the
 * runner applies: created (Completed pending), started (ResourcesAvailable
 * and Started succeeded), finished (Completed succeeded or failed, with the
 * v2 `executionReason` and the job's `latestCreatedExecution.completionStatus`).
 * Condition types and states follow the v2 Execution reference: "Completed:
 * True when the execution has succeeded. False when the execution has failed."
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { ApiError } from '../google-error.ts';
import {
  type CompletionStatus,
  type Condition,
  type Execution,
  type ExecutionTemplate,
  executionLogUri,
  type Job,
} from './model.ts';

/** A condition that changed at `time`. */
export function condition(
  type: string,
  state: Condition['state'],
  time: string,
  message?: string,
): Condition {
  const c: Condition = { type, state, lastTransitionTime: time };
  if (message !== undefined) c.message = message;
  return c;
}

/** Characters of an execution name's suffix: Cloud Run's are five of lowercase letters and digits. */
const SUFFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** Names drawn before giving up; with 36^5 names a second draw is already rare. */
const NAME_DRAWS = 20;

/** A random `<job>-<5 of [a-z0-9]>` execution id. */
function executionId(jobId: string): string {
  const bytes = randomBytes(5);
  let suffix = '';
  for (const byte of bytes) suffix += SUFFIX_ALPHABET[byte % SUFFIX_ALPHABET.length];
  return `${jobId}-${suffix}`;
}

/**
 * A new execution of `job` with `template` (overrides applied), named
 * `<job>-<5 of [a-z0-9]>` like Cloud Run's, and the job's reference to it.
 * `isTaken` says whether a name is in use (stored, or with task attempts on
 * record): a reused name would inherit the earlier execution's attempts and
 * end at once, its image never processed, so names are drawn until one is
 * free. Throws ABORTED when none of {@link NAME_DRAWS} draws is.
 */
export function newExecution(
  job: Job,
  template: ExecutionTemplate,
  time: string,
  isTaken: (name: string) => boolean,
): Execution {
  const jobId = job.name.split('/').pop() ?? 'job';
  let name: string | undefined;
  for (let draw = 0; draw < NAME_DRAWS && name === undefined; draw++) {
    const candidate = `${job.name}/executions/${executionId(jobId)}`;
    if (!isTaken(candidate)) name = candidate;
  }
  if (name === undefined) {
    throw new ApiError('ABORTED', `no free execution name for job ${jobId}; try again`);
  }
  job.executionCount += 1;
  job.latestCreatedExecution = { name, createTime: time, completionStatus: 'EXECUTION_RUNNING' };
  return {
    name,
    uid: randomUUID(),
    job: jobId,
    generation: '1',
    observedGeneration: '1',
    ...(job.labels ? { labels: { ...job.labels } } : {}),
    logUri: executionLogUri(name),
    createTime: time,
    updateTime: time,
    launchStage: 'GA',
    parallelism: template.parallelism,
    taskCount: template.taskCount,
    template: template.template,
    reconciling: false,
    conditions: [condition('Completed', 'CONDITION_PENDING', time)],
    runningCount: 0,
    succeededCount: 0,
    failedCount: 0,
    cancelledCount: 0,
    retriedCount: 0,
    etag: randomUUID(),
  };
}

/** Marks an execution started (or resumed) at `time`. */
export function markStarted(execution: Execution, time: string): void {
  execution.startTime ??= time;
  execution.conditions = [
    condition('ResourcesAvailable', 'CONDITION_SUCCEEDED', time),
    condition('Started', 'CONDITION_SUCCEEDED', time),
    condition('Completed', 'CONDITION_PENDING', time),
  ];
}

/** How an execution ended: cancelled, or with the message of its failure (undefined: success). */
export interface Ending {
  cancelled: boolean;
  failure?: string;
}

/**
 * Marks an execution finished at `time` (counters already summed) and
 * returns the job's `completionStatus` for it. Tasks of a cancelled execution
 * that never started count as cancelled too.
 */
export function markFinished(execution: Execution, ending: Ending, time: string): CompletionStatus {
  if (ending.cancelled) {
    execution.cancelledCount =
      execution.taskCount - execution.succeededCount - execution.failedCount;
  }
  const failed = ending.cancelled || ending.failure !== undefined;
  execution.completionTime = time;
  execution.conditions = execution.conditions.map((c) => {
    if (c.type !== 'Completed') return c;
    if (!failed) {
      return condition(
        'Completed',
        'CONDITION_SUCCEEDED',
        time,
        `Execution completed successfully: ${execution.succeededCount} task(s).`,
      );
    }
    const message = ending.cancelled
      ? `The execution was cancelled: ${execution.cancelledCount} task(s) cancelled.`
      : ending.failure;
    // v2 Condition.executionReason: why the execution ended without success.
    const ended = condition('Completed', 'CONDITION_FAILED', time, message);
    ended.executionReason = ending.cancelled ? 'CANCELLED' : 'NON_ZERO_EXIT_CODE';
    return ended;
  });
  if (ending.cancelled) return 'EXECUTION_CANCELLED';
  return failed ? 'EXECUTION_FAILED' : 'EXECUTION_SUCCEEDED';
}

/** Records, on the job, that its latest execution ended (no-op when a later one exists). */
export function noteLatestEnded(job: Job, execution: Execution, status: CompletionStatus): boolean {
  const latest = job.latestCreatedExecution;
  if (latest?.name !== execution.name || execution.completionTime === undefined) return false;
  latest.completionTime = execution.completionTime;
  latest.completionStatus = status;
  return true;
}
