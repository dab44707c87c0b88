/**
 * One task of a job execution: its attempts one after another, from
 * `firstAttempt` until one exits 0 or `maxRetries` is spent, each in a
 * process slot, with the container env (secrets read at the attempt's start,
 * as Cloud Run resolves them) plus the CLOUD_RUN_* variables Cloud Run sets
 * (https://cloud.google.com/run/docs/container-contract#jobs-env-vars). Every
 * attempt is persisted as it starts (then with its pid) and as it ends.
 */
import { coerceError, type Logger } from '@slideshow/runtime';
import { envImageFields } from '../image-log-fields.ts';
import { parseDuration } from '../time.ts';
import { type AttemptOutcome, logChildLine, runAttempt } from './child-process.ts';
import type { JobPolicy } from './job-policy.ts';
import { type Execution, parseMemory } from './model.ts';
import type { Slots } from './slots.ts';
import type { AttemptState, RunStore } from './store.ts';
import type { TaskTable } from './task-table.ts';

/** What running a task's attempts needs from the runner. */
export interface TaskAttemptsContext {
  store: RunStore;
  logger: Logger;
  now: () => number;
  slots: Slots;
  /** Aborted when the runner stops (a shutdown); a cancel aborts only the execution's signal. */
  stopping: AbortSignal;
  workdir: string;
  killGraceMs: number;
  hostEnv: Record<string, string | undefined>;
  policy: Pick<JobPolicy, 'readSecret'>;
  /** Notes an attempt's state in the task table and the execution's counts. */
  record(
    table: TaskTable,
    execution: Execution,
    index: number,
    attempt: number,
    state: AttemptState,
  ): void;
}

/** How a task ended: `stopped` leaves it to run again after a restart. */
export type TaskResult = 'succeeded' | 'failed' | 'stopped' | 'cancelled';

/** One task's position in its execution. */
interface TaskAt {
  execution: Execution;
  table: TaskTable;
  index: number;
}

/** The container env for one attempt, with secrets read now (Cloud Run resolves them at start). */
function containerEnv(
  execution: Execution,
  policy: Pick<JobPolicy, 'readSecret'>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of execution.template.containers[0]?.env ?? []) {
    const ref = e.valueSource?.secretKeyRef;
    if (ref === undefined) env[e.name] = e.value ?? '';
    else {
      try {
        env[e.name] = policy.readSecret(ref);
      } catch (error) {
        throw new Error(
          `could not read secret ${ref.secret} for ${e.name}: ${coerceError(error).message}`,
          { cause: error },
        );
      }
    }
  }
  return env;
}

/**
 * Runs the attempts of task `index` from `firstAttempt`. `cancel` is the
 * execution's cancel signal; `signal` aborts on a cancel or a shutdown.
 */
export async function runTask(
  ctx: TaskAttemptsContext,
  { execution, table, index }: TaskAt,
  firstAttempt: number,
  cancel: AbortSignal,
  signal: AbortSignal,
): Promise<TaskResult> {
  const { store, now } = ctx;
  const container = execution.template.containers[0]!;
  const shortExec = execution.name.split('/').pop() ?? '';
  const limit = container.resources?.limits?.memory;
  // Every line of a one-image task names its image (its output's plain lines too: a crash's
  // trace). A batch task's lines do not carry the whole list: the processor's own lines name
  // the image each is about, and a failed attempt's line lists the execution's.
  const images = envImageFields(container.env);
  const lineImages = 'imageId' in images ? images : {};
  for (let attempt = firstAttempt; attempt <= execution.template.maxRetries; attempt++) {
    const log = ctx.logger.child({ execution: shortExec, task: index, attempt, ...lineImages });
    if (!(await ctx.slots.acquire(signal))) return ctx.stopping.aborted ? 'stopped' : 'cancelled';
    store.startAttempt(execution.name, index, attempt, null, now());
    ctx.record(table, execution, index, attempt, 'running');
    let env: Record<string, string>;
    try {
      env = containerEnv(execution, ctx.policy);
    } catch (error) {
      ctx.slots.release();
      const message = coerceError(error).message;
      store.endAttempt(execution.name, index, attempt, 'failed', null, message, now());
      ctx.record(table, execution, index, attempt, 'failed');
      store.putExecution(execution, false);
      log.warn('task attempt failed', { ...images, reason: 'secret', message });
      continue;
    }
    Object.assign(env, {
      CLOUD_RUN_JOB: execution.job,
      CLOUD_RUN_EXECUTION: shortExec,
      CLOUD_RUN_TASK_INDEX: String(index),
      CLOUD_RUN_TASK_ATTEMPT: String(attempt),
      CLOUD_RUN_TASK_COUNT: String(execution.taskCount),
    });
    const outcome = await runAttempt(
      {
        command: container.command ?? [],
        args: container.args ?? [],
        env,
        cwd: ctx.workdir,
        timeoutMs: parseDuration(execution.template.timeout, 'timeout'),
        killGraceMs: ctx.killGraceMs,
        ...(limit !== undefined ? { memoryLimitBytes: parseMemory(limit) } : {}),
        signal,
        shutdown: ctx.stopping,
        onSpawn: (pid) => {
          store.startAttempt(execution.name, index, attempt, pid, now());
          store.putExecution(execution, false);
        },
        onLine: (stream, line) => logChildLine(log, stream, line),
      },
      ctx.hostEnv,
    ).finally(() => ctx.slots.release());
    const ended = endAttempt(ctx, { execution, table, index }, attempt, outcome, cancel);
    if (ended !== undefined) return ended;
    log.warn('task attempt failed', {
      ...images,
      reason: outcome.reason,
      exitCode: outcome.exitCode,
      message: outcome.message,
    });
  }
  return 'failed';
}

/**
 * Records how an attempt ended; the task's result, or undefined when it
 * failed and the next attempt (if any) follows. A shutdown leaves the
 * attempt `interrupted`, to run again on restart; a cancel (even one a shutdown followed) ends it.
 */
function endAttempt(
  ctx: TaskAttemptsContext,
  { execution, table, index }: TaskAt,
  attempt: number,
  outcome: AttemptOutcome,
  cancel: AbortSignal,
): TaskResult | undefined {
  const { store, now } = ctx;
  if (outcome.reason === 'stopped') {
    // A cancelled execution's attempt stays cancelled when a shutdown stopped it too.
    const cancelled = cancel.aborted;
    const state = cancelled ? 'cancelled' : 'interrupted';
    store.endAttempt(
      execution.name,
      index,
      attempt,
      state,
      outcome.exitCode,
      cancelled ? 'The execution was cancelled.' : outcome.message,
      now(),
    );
    ctx.record(table, execution, index, attempt, state);
    return cancelled ? 'cancelled' : 'stopped';
  }
  const ok = outcome.reason === 'exited' && outcome.exitCode === 0;
  store.endAttempt(
    execution.name,
    index,
    attempt,
    ok ? 'succeeded' : 'failed',
    outcome.exitCode,
    outcome.message,
    now(),
  );
  ctx.record(table, execution, index, attempt, ok ? 'succeeded' : 'failed');
  store.putExecution(execution, false);
  return ok ? 'succeeded' : undefined;
}
