/**
 * Runs Cloud Run job executions locally: tasks 0..taskCount-1, at most
 * `parallelism` at once, each retried up to maxRetries (attempts
 * 0..maxRetries) with the CLOUD_RUN_* environment Cloud Run sets
 * (https://cloud.google.com/run/docs/container-contract#jobs-env-vars).
 * Attempts are persisted; after a restart unfinished attempts run again and a
 * child left over from a crash is killed first.
 *
 * Memory per execution is bounded: the state of each task is two bytes in
 * typed arrays (no per-task objects or rows are built up front), at most
 * as many task loops run as tasks may run at once, and a stored execution
 * that breaks Google's limits or cannot be read is marked failed instead of
 * being resumed, so no row can block a start.
 */
import { coerceError, type Logger } from '@slideshow/runtime';
import { ApiError } from '../google-error.ts';
import { envImageFields, type ImageLogFields } from '../image-log-fields.ts';
import { LIMITS } from '../limits.ts';
import { killLeftover } from './child-process.ts';
import {
  condition,
  markFinished,
  markStarted,
  newExecution,
  noteLatestEnded,
} from './execution-record.ts';
import type { JobPolicy } from './job-policy.ts';
import {
  type CompletionStatus,
  type Execution,
  type ExecutionTemplate,
  executionDone,
  type Job,
} from './model.ts';
import { createSlots } from './slots.ts';
import type { RunStore } from './store.ts';
import { runTask, type TaskAttemptsContext } from './task-attempts.ts';
import {
  countTasks,
  recordAttempt,
  resumeAttempt,
  type TaskTable,
  taskTable,
  unresumable,
} from './task-table.ts';

/** Dependencies of the runner. */
export interface JobRunnerDeps {
  store: RunStore;
  logger: Logger;
  workdir: string;
  killGraceMs: number;
  /** Environment the children may inherit PATH/HOME/TMPDIR/LANG/TZ from. */
  hostEnv: Record<string, string | undefined>;
  /**
   * Most task processes running at once across all executions (0: no limit).
   * Cloud Run gives every task its own instance; one machine has a few cores,
   * and a hundred image jobs started together only thrash them.
   */
  maxRunningTasks?: number;
  /** Which command lines may run, with which pinned env, and where secrets come from. */
  policy: JobPolicy;
  now?: () => number;
}

/** The job runner. */
export interface JobRunner {
  /** Creates an execution of `job` with `template` (overrides applied) and starts it. */
  start(job: Job, template: ExecutionTemplate): Execution;
  /** Resolves with the execution once it is finished (undefined if unknown or stopped). */
  completion(name: string): Promise<Execution | undefined>;
  /**
   * Cancels a running execution (tasks get SIGTERM); false when it is not running. The cancel
   * is stored first: one that a shutdown or a crash cuts short ends cancelled at the next start.
   */
  cancel(name: string): boolean;
  /** Resumes executions left unfinished by a previous process. */
  resumeUnfinished(): void;
  /** Stops every child (SIGINT: a shutdown, not a timeout; then SIGKILL after the grace) and waits. */
  stop(): Promise<void>;
}

/** What an execution's run shares with the runner. */
interface RunnerContext extends TaskAttemptsContext {
  policy: JobPolicy;
  maxRunningTasks: number;
  /** The cancel controller of each execution running now. */
  cancels: Map<string, AbortController>;
}

/**
 * The images the execution is about, for its log lines (image-log-fields.ts). Optional
 * chaining throughout: a stored execution that cannot be resumed may lack any part, and its
 * log line must still be written.
 */
function imagesOf(execution: Execution): ImageLogFields {
  const containers: Execution['template']['containers'] | undefined =
    execution.template?.containers;
  return envImageFields(Array.isArray(containers) ? containers[0]?.env : undefined);
}

/** Updates the execution's task counts and update time from its table. */
function summarize(execution: Execution, table: TaskTable, now: () => number): void {
  Object.assign(execution, countTasks(table, execution.template.maxRetries), {
    updateTime: new Date(now()).toISOString(),
  });
}

/** Keeps the job's `latestCreatedExecution` in step with that execution's end. */
function noteLatest(store: RunStore, execution: Execution, status: CompletionStatus): void {
  const job = store.getJob(execution.name.split('/executions/')[0] ?? '');
  if (job && noteLatestEnded(job, execution, status)) store.putJob(job);
}

/** Ends an execution that cannot run at all (a command line no longer registered, a poisoned row). */
function failWithoutRunning(ctx: RunnerContext, execution: Execution, message: string): Execution {
  execution.completionTime = new Date(ctx.now()).toISOString();
  execution.conditions = [
    condition('Completed', 'CONDITION_FAILED', execution.completionTime, message),
  ];
  ctx.store.putExecution(execution, true);
  noteLatest(ctx.store, execution, 'EXECUTION_FAILED');
  ctx.logger.error('job execution failed before running', {
    execution: execution.name,
    ...imagesOf(execution),
    message,
  });
  return execution;
}

/**
 * Runs (or resumes) an execution to its end: leftover children killed, the
 * tasks still to run shared among as many loops as may run at once, then the
 * execution marked finished. Undefined when a shutdown stopped it.
 */
async function runExecution(
  ctx: RunnerContext,
  execution: Execution,
  cancelRequested: boolean,
): Promise<Execution | undefined> {
  const { store, logger } = ctx;
  const iso = () => new Date(ctx.now()).toISOString();
  const container = execution.template.containers[0]!;
  try {
    ctx.policy.checkContainer(container, 'container');
  } catch (error) {
    return failWithoutRunning(ctx, execution, coerceError(error).message);
  }
  const maxRetries = execution.template.maxRetries;
  const rows = store.attempts(execution.name);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const isLast = rows[i + 1]?.task_index !== r.task_index;
    if (!isLast || r.state !== 'running') continue;
    if (r.pid !== null) killLeftover(r.pid, execution.name, logger);
    if (cancelRequested) {
      const message = 'The execution was cancelled.';
      store.endAttempt(
        execution.name,
        r.task_index,
        r.attempt,
        'cancelled',
        null,
        message,
        ctx.now(),
      );
      rows[i] = { ...r, state: 'cancelled', message, end_ms: ctx.now() };
    }
  }
  const table = taskTable(execution.taskCount, rows);
  const resumeAt = (i: number): number => resumeAttempt(table, i, maxRetries);
  let cursor = 0;
  const nextTask = (): { index: number; attempt: number } | undefined => {
    while (cursor < execution.taskCount) {
      const index = cursor++;
      const attempt = resumeAt(index);
      if (attempt >= 0) return { index, attempt };
    }
    return undefined;
  };
  let remaining = 0;
  for (let i = 0; i < execution.taskCount; i++) if (resumeAt(i) >= 0) remaining++;
  markStarted(execution, iso());
  summarize(execution, table, ctx.now);
  store.putExecution(execution, false);
  const width = execution.parallelism > 0 ? execution.parallelism : execution.taskCount;
  const machine = ctx.maxRunningTasks > 0 ? ctx.maxRunningTasks : width;
  let stopped = false;
  const cancel = new AbortController();
  // Cancelled before a crash or a shutdown ended it: no task runs again, it ends cancelled.
  if (cancelRequested) cancel.abort();
  ctx.cancels.set(execution.name, cancel);
  const signal = AbortSignal.any([ctx.stopping, cancel.signal]);
  const loops = Math.max(1, Math.min(width, machine, remaining));
  const workers = Array.from({ length: loops }, async () => {
    for (let next = nextTask(); next && !stopped && !cancel.signal.aborted; next = nextTask()) {
      const task = { execution, table, index: next.index };
      const result = await runTask(ctx, task, next.attempt, cancel.signal, signal);
      if (result === 'stopped') stopped = true;
    }
  });
  await Promise.all(workers);
  ctx.cancels.delete(execution.name);
  const cancelled = cancel.signal.aborted;
  // A shutdown leaves the execution to run again on the next start, unless it was cancelled.
  if ((stopped || ctx.stopping.aborted) && !cancelled) return undefined;
  summarize(execution, table, ctx.now);
  const failed = execution.failedCount > 0 || cancelled;
  const status = markFinished(
    execution,
    {
      cancelled,
      ...(execution.failedCount > 0
        ? {
            failure: `${execution.failedCount} of ${execution.taskCount} task(s) failed after ${maxRetries + 1} attempt(s); last error: ${store.lastFailure(execution.name) ?? 'unknown'}`,
          }
        : {}),
    },
    iso(),
  );
  store.putExecution(execution, true);
  noteLatest(store, execution, status);
  logger.info(failed ? 'job execution failed' : 'job execution succeeded', {
    execution: execution.name,
    ...imagesOf(execution),
    succeeded: execution.succeededCount,
    failed: execution.failedCount,
  });
  return execution;
}

/**
 * Gives a stored execution's pinned secret variables their reference back where the migration
 * that blanked secrets stored in clear left '' (db.ts): an execution a stack from before secret
 * references started (its CALLBACK_SECRET inline) then runs with the registered secret, instead
 * of being refused before it runs and leaving its images to the backend's reaper. The checks
 * before the spawn still apply to everything else.
 */
function restoreBlankedSecrets(ctx: RunnerContext, execution: Execution): void {
  const container = execution.template.containers[0];
  if (!container?.env) return;
  const { env, restored } = ctx.policy.restoreBlankedSecrets(container.env);
  if (restored.length === 0) return;
  container.env = env;
  ctx.logger.warn('a resumed job execution gets its pinned secrets back as references', {
    execution: execution.name,
    ...imagesOf(execution),
    variables: restored,
  });
}

/**
 * Resumes one stored execution left unfinished (or ends it, when it was cancelled or cannot run).
 * One unreadable or oversized row must not keep the others, or the start, from going on.
 */
function resumeRow(
  ctx: RunnerContext,
  row: { name: string; data: string; cancelRequested: boolean },
  launch: (execution: Execution, cancelRequested: boolean) => void,
): void {
  const { store, logger } = ctx;
  try {
    const execution = JSON.parse(row.data) as Execution;
    const problem = unresumable(execution);
    if (problem === undefined) {
      restoreBlankedSecrets(ctx, execution);
      // INFO: a stop leaves attempts interrupted on purpose, to run again here.
      logger.info(
        row.cancelRequested
          ? 'ending a job execution cancelled before the last stop'
          : 'resuming a job execution left unfinished',
        { execution: row.name, ...imagesOf(execution) },
      );
      launch(execution, row.cancelRequested);
      return;
    }
    execution.name = row.name;
    failWithoutRunning(ctx, execution, `local-cloud did not resume this execution: ${problem}.`);
  } catch (error) {
    store.markDone(row.name);
    logger.error('a stored job execution could not be read; marked done, not resumed', {
      execution: row.name,
      error: coerceError(error).message,
    });
  }
}

/** Creates the runner. */
export function createJobRunner(deps: JobRunnerDeps): JobRunner {
  const { store, logger } = deps;
  const now = deps.now ?? Date.now;
  const stopController = new AbortController();
  const running = new Map<string, Promise<Execution | undefined>>();
  const ctx: RunnerContext = {
    store,
    logger,
    now,
    slots: createSlots(deps.maxRunningTasks ?? 0),
    stopping: stopController.signal,
    workdir: deps.workdir,
    killGraceMs: deps.killGraceMs,
    hostEnv: deps.hostEnv,
    policy: deps.policy,
    maxRunningTasks: deps.maxRunningTasks ?? 0,
    cancels: new Map(),
    record(table, execution, index, attempt, state) {
      recordAttempt(table, index, attempt, state);
      summarize(execution, table, now);
    },
  };

  function launch(execution: Execution, cancelRequested = false): void {
    const p = runExecution(ctx, execution, cancelRequested)
      .catch((error: unknown) => {
        logger.error('job execution crashed', {
          execution: execution.name,
          ...imagesOf(execution),
          error: coerceError(error),
        });
        return undefined;
      })
      .finally(() => running.delete(execution.name));
    running.set(execution.name, p);
  }

  return {
    start(job, template) {
      if (running.size >= LIMITS.runningJobExecutions) {
        throw new ApiError(
          'RESOURCE_EXHAUSTED',
          `${LIMITS.runningJobExecutions} job executions are running already (Cloud Run's limit per project and region).`,
        );
      }
      const execution = newExecution(job, template, new Date(now()).toISOString(), store.nameInUse);
      store.putExecution(execution, false);
      store.putJob(job);
      launch(execution);
      return execution;
    },
    async completion(name) {
      const p = running.get(name);
      if (p) return p;
      const e = store.getExecution(name);
      return e && executionDone(e) ? e : undefined;
    },
    cancel(name) {
      const controller = ctx.cancels.get(name);
      if (!controller) return false;
      store.requestCancel(name);
      controller.abort();
      return true;
    },
    resumeUnfinished() {
      for (const row of store.unfinishedExecutions()) {
        if (!running.has(row.name)) resumeRow(ctx, row, launch);
      }
    },
    async stop() {
      stopController.abort();
      await Promise.allSettled([...running.values()]);
    },
  };
}
