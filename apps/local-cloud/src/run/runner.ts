/**
 * Runs Cloud Run job executions locally: tasks 0..taskCount-1, at most
 * `parallelism` at once, each retried up to maxRetries (attempts
 * 0..maxRetries) with the CLOUD_RUN_* environment Cloud Run sets
 * (https://cloud.google.com/run/docs/container-contract#jobs-env-vars).
 * Attempts are persisted; after a restart unfinished attempts run again and a
 * child left over from a crash is killed first.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { coerceError, type Logger } from '@slideshow/runtime';
import { parseDuration } from '../time.ts';
import { runAttempt } from './child-process.ts';
import {
  type Condition,
  type Execution,
  type ExecutionTemplate,
  type Job,
  parseMemory,
} from './model.ts';
import type { AttemptRow, RunStore } from './store.ts';

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
  now?: () => number;
}

/** A counting semaphore whose waiters give up when their signal aborts. */
function createSlots(size: number) {
  let free = size;
  const waiting: (() => void)[] = [];
  return {
    async acquire(signal: AbortSignal): Promise<boolean> {
      if (size <= 0) return true;
      while (free === 0) {
        if (signal.aborted) return false;
        await new Promise<void>((resolve) => {
          const wake = () => {
            signal.removeEventListener('abort', wake);
            resolve();
          };
          waiting.push(wake);
          signal.addEventListener('abort', wake, { once: true });
        });
      }
      if (signal.aborted) return false;
      free--;
      return true;
    },
    release(): void {
      if (size <= 0) return;
      free++;
      waiting.shift()?.();
    },
  };
}

/** The job runner. */
export interface JobRunner {
  /** Creates an execution of `job` with `template` (overrides applied) and starts it. */
  start(job: Job, template: ExecutionTemplate): Execution;
  /** Resolves with the execution once it is finished (undefined if unknown or stopped). */
  completion(name: string): Promise<Execution | undefined>;
  /** Cancels a running execution (tasks get SIGTERM); false when it is not running. */
  cancel(name: string): boolean;
  /** Resumes executions left unfinished by a previous process. */
  resumeUnfinished(): void;
  /** Stops every child (SIGTERM, then SIGKILL after the grace) and waits. */
  stop(): Promise<void>;
}

/** True when the execution finished with every task succeeded. */
export function executionSucceeded(e: Execution): boolean {
  return e.conditions.some((c) => c.type === 'Completed' && c.state === 'CONDITION_SUCCEEDED');
}

/**
 * Logs one line of a task's output. A JSON line keeps its fields as
 * `jsonPayload` and its `severity` (Cloud Logging does the same for
 * containers); other stderr lines are WARNING, stdout lines INFO.
 */
function logChildLine(log: Logger, stream: 'stdout' | 'stderr', line: string): void {
  const fields: Record<string, unknown> = { stream };
  let severity = stream === 'stderr' ? 'WARNING' : 'INFO';
  let message = line;
  if (line.startsWith('{')) {
    try {
      const payload = JSON.parse(line) as Record<string, unknown>;
      fields.jsonPayload = payload;
      if (typeof payload.severity === 'string') severity = payload.severity.toUpperCase();
      if (typeof payload.message === 'string') message = payload.message;
    } catch (error) {
      fields.parseError = coerceError(error).message;
    }
  }
  if (
    severity === 'ERROR' ||
    severity === 'CRITICAL' ||
    severity === 'ALERT' ||
    severity === 'EMERGENCY'
  ) {
    log.error(message, fields);
  } else if (severity === 'WARNING') log.warn(message, fields);
  else if (severity === 'DEBUG') log.debug(message, fields);
  else log.info(message, fields);
}

function lastFailure(rows: AttemptRow[]): string {
  const failed = rows.filter((r) => r.state === 'failed');
  return failed.at(-1)?.message ?? 'unknown';
}

/** True when the execution is finished (succeeded or failed). */
export function executionDone(e: Execution): boolean {
  return e.completionTime !== undefined;
}

function killLeftover(pid: number, execution: string, logger: Logger): void {
  try {
    // Only kill a process that really is our task: pids are reused.
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    if (!environ.includes(`CLOUD_RUN_EXECUTION=${execution.split('/').pop()}`)) return;
    process.kill(pid, 'SIGKILL');
    logger.warn('killed a task process left over from a previous run', { pid, execution });
  } catch (error) {
    logger.debug('no leftover task process', { pid, error: coerceError(error).message });
  }
}

/** Creates the runner. */
export function createJobRunner(deps: JobRunnerDeps): JobRunner {
  const { store, logger } = deps;
  const now = deps.now ?? Date.now;
  const stopController = new AbortController();
  const running = new Map<string, Promise<Execution | undefined>>();
  const cancels = new Map<string, AbortController>();
  const slots = createSlots(deps.maxRunningTasks ?? 0);

  function summarize(execution: Execution, rows: AttemptRow[]): void {
    const maxRetries = execution.template.maxRetries;
    let runningCount = 0;
    let succeeded = 0;
    let failed = 0;
    let retried = 0;
    let cancelled = 0;
    for (let i = 0; i < execution.taskCount; i++) {
      const mine = rows.filter((r) => r.task_index === i);
      const last = mine.at(-1);
      if (mine.some((r) => r.state === 'succeeded')) succeeded++;
      else if (last?.state === 'running') runningCount++;
      else if (last?.state === 'failed' && last.attempt >= maxRetries) failed++;
      else if (last?.state === 'cancelled') cancelled++;
      if (mine.some((r) => r.attempt > 0)) retried++;
    }
    Object.assign(execution, {
      runningCount,
      succeededCount: succeeded,
      failedCount: failed,
      retriedCount: retried,
      cancelledCount: cancelled,
      updateTime: new Date(now()).toISOString(),
    });
  }

  function condition(type: string, state: Condition['state'], message?: string): Condition {
    const c: Condition = { type, state, lastTransitionTime: new Date(now()).toISOString() };
    if (message !== undefined) c.message = message;
    return c;
  }

  async function runTask(
    execution: Execution,
    index: number,
    firstAttempt: number,
    cancel: AbortSignal,
  ): Promise<'succeeded' | 'failed' | 'stopped' | 'cancelled'> {
    const container = execution.template.containers[0]!;
    const maxRetries = execution.template.maxRetries;
    const shortExec = execution.name.split('/').pop() ?? '';
    const jobId = execution.job;
    const limit = container.resources?.limits?.memory;
    for (let attempt = firstAttempt; attempt <= maxRetries; attempt++) {
      const log = logger.child({ execution: shortExec, task: index, attempt });
      const env: Record<string, string> = {};
      for (const e of container.env ?? []) env[e.name] = e.value;
      Object.assign(env, {
        CLOUD_RUN_JOB: jobId,
        CLOUD_RUN_EXECUTION: shortExec,
        CLOUD_RUN_TASK_INDEX: String(index),
        CLOUD_RUN_TASK_ATTEMPT: String(attempt),
        CLOUD_RUN_TASK_COUNT: String(execution.taskCount),
      });
      const signal = AbortSignal.any([stopController.signal, cancel]);
      if (!(await slots.acquire(signal))) {
        return stopController.signal.aborted ? 'stopped' : 'cancelled';
      }
      store.startAttempt(execution.name, index, attempt, null, now());
      const outcome = await runAttempt(
        {
          command: container.command ?? [],
          args: container.args ?? [],
          env,
          cwd: deps.workdir,
          timeoutMs: parseDuration(execution.template.timeout, 'timeout'),
          killGraceMs: deps.killGraceMs,
          ...(limit !== undefined ? { memoryLimitBytes: parseMemory(limit) } : {}),
          signal,
          onSpawn: (pid) => {
            store.startAttempt(execution.name, index, attempt, pid, now());
            summarize(execution, store.attempts(execution.name));
            store.putExecution(execution, false);
          },
          onLine: (stream, line) => logChildLine(log, stream, line),
        },
        deps.hostEnv,
      ).finally(() => slots.release());
      if (outcome.reason === 'stopped') {
        // A shutdown leaves the attempt to run again on restart; a cancel ends it.
        const cancelled = !stopController.signal.aborted;
        store.endAttempt(
          execution.name,
          index,
          attempt,
          cancelled ? 'cancelled' : 'interrupted',
          outcome.exitCode,
          cancelled ? 'The execution was cancelled.' : outcome.message,
          now(),
        );
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
      summarize(execution, store.attempts(execution.name));
      store.putExecution(execution, false);
      if (ok) return 'succeeded';
      log.warn('task attempt failed', {
        reason: outcome.reason,
        exitCode: outcome.exitCode,
        message: outcome.message,
      });
    }
    return 'failed';
  }

  async function run(execution: Execution): Promise<Execution | undefined> {
    const rows = store.attempts(execution.name);
    // Where each task resumes: done tasks are skipped, interrupted attempts re-run.
    const queue: { index: number; attempt: number }[] = [];
    for (let i = 0; i < execution.taskCount; i++) {
      const mine = rows.filter((r) => r.task_index === i);
      const last = mine.at(-1);
      if (mine.some((r) => r.state === 'succeeded')) continue;
      if (last?.state === 'failed' && last.attempt >= execution.template.maxRetries) continue;
      if (last?.state === 'running' && last.pid !== null)
        killLeftover(last.pid, execution.name, logger);
      const next =
        last === undefined ? 0 : last.state === 'failed' ? last.attempt + 1 : last.attempt;
      queue.push({ index: i, attempt: next });
    }
    execution.startTime ??= new Date(now()).toISOString();
    execution.conditions = [
      condition('ResourcesAvailable', 'CONDITION_SUCCEEDED'),
      condition('Started', 'CONDITION_SUCCEEDED'),
      condition('Completed', 'CONDITION_PENDING'),
    ];
    store.putExecution(execution, false);
    const width = execution.parallelism > 0 ? execution.parallelism : execution.taskCount;
    let stopped = false;
    const cancel = new AbortController();
    cancels.set(execution.name, cancel);
    const workers = Array.from({ length: Math.min(width, Math.max(queue.length, 1)) }, async () => {
      for (
        let next = queue.shift();
        next && !stopped && !cancel.signal.aborted;
        next = queue.shift()
      ) {
        const result = await runTask(execution, next.index, next.attempt, cancel.signal);
        if (result === 'stopped') stopped = true;
      }
    });
    await Promise.all(workers);
    cancels.delete(execution.name);
    if (stopped || stopController.signal.aborted) return undefined;
    summarize(execution, store.attempts(execution.name));
    if (cancel.signal.aborted) {
      // Tasks that never started count as cancelled too.
      execution.cancelledCount =
        execution.taskCount - execution.succeededCount - execution.failedCount;
    }
    const failed = execution.failedCount > 0 || cancel.signal.aborted;
    const failure = cancel.signal.aborted
      ? `The execution was cancelled: ${execution.cancelledCount} task(s) cancelled.`
      : `${execution.failedCount} of ${execution.taskCount} task(s) failed after ${execution.template.maxRetries + 1} attempt(s); last error: ${lastFailure(store.attempts(execution.name))}`;
    execution.completionTime = new Date(now()).toISOString();
    execution.conditions = execution.conditions.map((c) =>
      c.type === 'Completed'
        ? condition(
            'Completed',
            failed ? 'CONDITION_FAILED' : 'CONDITION_SUCCEEDED',
            failed
              ? failure
              : `Execution completed successfully: ${execution.succeededCount} task(s).`,
          )
        : c,
    );
    store.putExecution(execution, true);
    const jobName = execution.name.split('/executions/')[0] ?? '';
    const job = store.getJob(jobName);
    if (job?.latestCreatedExecution?.name === execution.name) {
      job.latestCreatedExecution.completionTime = execution.completionTime;
      store.putJob(job);
    }
    logger.info(failed ? 'job execution failed' : 'job execution succeeded', {
      execution: execution.name,
      succeeded: execution.succeededCount,
      failed: execution.failedCount,
    });
    return execution;
  }

  function launch(execution: Execution): void {
    const p = run(execution)
      .catch((error: unknown) => {
        logger.error('job execution crashed', {
          execution: execution.name,
          error: coerceError(error),
        });
        return undefined;
      })
      .finally(() => running.delete(execution.name));
    running.set(execution.name, p);
  }

  return {
    start(job, template) {
      const t = new Date(now()).toISOString();
      const jobId = job.name.split('/').pop() ?? 'job';
      const suffix = randomBytes(4).toString('hex').slice(0, 5);
      const execution: Execution = {
        name: `${job.name}/executions/${jobId}-${suffix}`,
        uid: randomUUID(),
        job: jobId,
        createTime: t,
        updateTime: t,
        launchStage: 'GA',
        parallelism: template.parallelism,
        taskCount: template.taskCount,
        template: template.template,
        reconciling: false,
        conditions: [condition('Completed', 'CONDITION_PENDING')],
        runningCount: 0,
        succeededCount: 0,
        failedCount: 0,
        cancelledCount: 0,
        retriedCount: 0,
        etag: randomUUID(),
      };
      store.putExecution(execution, false);
      job.executionCount += 1;
      job.latestCreatedExecution = { name: execution.name, createTime: t };
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
      const controller = cancels.get(name);
      if (!controller) return false;
      controller.abort();
      return true;
    },
    resumeUnfinished() {
      for (const execution of store.unfinishedExecutions()) {
        if (running.has(execution.name)) continue;
        logger.warn('resuming a job execution left unfinished', { execution: execution.name });
        launch(execution);
      }
    },
    async stop() {
      stopController.abort();
      await Promise.allSettled([...running.values()]);
    },
  };
}
