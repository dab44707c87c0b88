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
import { randomBytes, randomUUID } from 'node:crypto';
import { coerceError, type Logger } from '@slideshow/runtime';
import { ApiError } from '../google-error.ts';
import { LIMITS } from '../limits.ts';
import { parseDuration } from '../time.ts';
import { killLeftover, logChildLine, runAttempt } from './child-process.ts';
import type { JobPolicy } from './job-policy.ts';
import {
  type Condition,
  type Execution,
  type ExecutionTemplate,
  type Job,
  parseMemory,
} from './model.ts';
import { createSlots } from './slots.ts';
import type { AttemptState, RunStore } from './store.ts';
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
  /** Which command lines may run and where secrets come from. */
  policy: JobPolicy;
  now?: () => number;
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

/** True when the execution is finished (succeeded or failed). */
export function executionDone(e: Execution): boolean {
  return e.completionTime !== undefined;
}

/** Creates the runner. */
export function createJobRunner(deps: JobRunnerDeps): JobRunner {
  const { store, logger } = deps;
  const now = deps.now ?? Date.now;
  const stopController = new AbortController();
  const running = new Map<string, Promise<Execution | undefined>>();
  const cancels = new Map<string, AbortController>();
  const slots = createSlots(deps.maxRunningTasks ?? 0);

  function summarize(execution: Execution, table: TaskTable): void {
    Object.assign(execution, countTasks(table, execution.template.maxRetries), {
      updateTime: new Date(now()).toISOString(),
    });
  }

  function record(
    table: TaskTable,
    execution: Execution,
    index: number,
    attempt: number,
    state: AttemptState,
  ): void {
    recordAttempt(table, index, attempt, state);
    summarize(execution, table);
  }

  function condition(type: string, state: Condition['state'], message?: string): Condition {
    const c: Condition = { type, state, lastTransitionTime: new Date(now()).toISOString() };
    if (message !== undefined) c.message = message;
    return c;
  }

  /** The container env for one attempt, with secrets read now (Cloud Run resolves them at start). */
  function attemptEnv(execution: Execution): Record<string, string> {
    const env: Record<string, string> = {};
    for (const e of execution.template.containers[0]?.env ?? []) {
      const ref = e.valueSource?.secretKeyRef;
      if (ref === undefined) env[e.name] = e.value ?? '';
      else {
        try {
          env[e.name] = deps.policy.readSecret(ref);
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

  async function runTask(
    execution: Execution,
    table: TaskTable,
    index: number,
    firstAttempt: number,
    cancel: AbortSignal,
    signal: AbortSignal,
  ): Promise<'succeeded' | 'failed' | 'stopped' | 'cancelled'> {
    const container = execution.template.containers[0]!;
    const maxRetries = execution.template.maxRetries;
    const shortExec = execution.name.split('/').pop() ?? '';
    const jobId = execution.job;
    const limit = container.resources?.limits?.memory;
    for (let attempt = firstAttempt; attempt <= maxRetries; attempt++) {
      const log = logger.child({ execution: shortExec, task: index, attempt });
      if (!(await slots.acquire(signal))) {
        return stopController.signal.aborted ? 'stopped' : 'cancelled';
      }
      store.startAttempt(execution.name, index, attempt, null, now());
      record(table, execution, index, attempt, 'running');
      let env: Record<string, string>;
      try {
        env = attemptEnv(execution);
      } catch (error) {
        slots.release();
        const message = coerceError(error).message;
        store.endAttempt(execution.name, index, attempt, 'failed', null, message, now());
        record(table, execution, index, attempt, 'failed');
        store.putExecution(execution, false);
        log.warn('task attempt failed', { reason: 'secret', message });
        continue;
      }
      Object.assign(env, {
        CLOUD_RUN_JOB: jobId,
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
          cwd: deps.workdir,
          timeoutMs: parseDuration(execution.template.timeout, 'timeout'),
          killGraceMs: deps.killGraceMs,
          ...(limit !== undefined ? { memoryLimitBytes: parseMemory(limit) } : {}),
          signal,
          onSpawn: (pid) => {
            store.startAttempt(execution.name, index, attempt, pid, now());
            store.putExecution(execution, false);
          },
          onLine: (stream, line) => logChildLine(log, stream, line),
        },
        deps.hostEnv,
      ).finally(() => slots.release());
      if (outcome.reason === 'stopped') {
        // A shutdown leaves the attempt to run again on restart; a cancel ends it.
        const cancelled = cancel.aborted && !stopController.signal.aborted;
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
        record(table, execution, index, attempt, state);
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
      record(table, execution, index, attempt, ok ? 'succeeded' : 'failed');
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

  /** Ends an execution that cannot run at all (a command line no longer registered, a poisoned row). */
  function failWithoutRunning(execution: Execution, message: string): Execution {
    execution.completionTime = new Date(now()).toISOString();
    execution.conditions = [condition('Completed', 'CONDITION_FAILED', message)];
    store.putExecution(execution, true);
    logger.error('job execution failed before running', { execution: execution.name, message });
    return execution;
  }

  async function run(execution: Execution): Promise<Execution | undefined> {
    const container = execution.template.containers[0]!;
    try {
      deps.policy.checkCommand(container.command ?? [], container.args ?? [], 'container');
    } catch (error) {
      return failWithoutRunning(execution, coerceError(error).message);
    }
    const maxRetries = execution.template.maxRetries;
    const rows = store.attempts(execution.name);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      const isLast = rows[i + 1]?.task_index !== r.task_index;
      if (isLast && r.state === 'running' && r.pid !== null)
        killLeftover(r.pid, execution.name, logger);
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
    execution.startTime ??= new Date(now()).toISOString();
    execution.conditions = [
      condition('ResourcesAvailable', 'CONDITION_SUCCEEDED'),
      condition('Started', 'CONDITION_SUCCEEDED'),
      condition('Completed', 'CONDITION_PENDING'),
    ];
    summarize(execution, table);
    store.putExecution(execution, false);
    const width = execution.parallelism > 0 ? execution.parallelism : execution.taskCount;
    const machine = (deps.maxRunningTasks ?? 0) > 0 ? (deps.maxRunningTasks ?? 0) : width;
    let stopped = false;
    const cancel = new AbortController();
    cancels.set(execution.name, cancel);
    const signal = AbortSignal.any([stopController.signal, cancel.signal]);
    const loops = Math.max(1, Math.min(width, machine, remaining));
    const workers = Array.from({ length: loops }, async () => {
      for (let next = nextTask(); next && !stopped && !cancel.signal.aborted; next = nextTask()) {
        const result = await runTask(
          execution,
          table,
          next.index,
          next.attempt,
          cancel.signal,
          signal,
        );
        if (result === 'stopped') stopped = true;
      }
    });
    await Promise.all(workers);
    cancels.delete(execution.name);
    if (stopped || stopController.signal.aborted) return undefined;
    summarize(execution, table);
    if (cancel.signal.aborted) {
      // Tasks that never started count as cancelled too.
      execution.cancelledCount =
        execution.taskCount - execution.succeededCount - execution.failedCount;
    }
    const failed = execution.failedCount > 0 || cancel.signal.aborted;
    const failure = cancel.signal.aborted
      ? `The execution was cancelled: ${execution.cancelledCount} task(s) cancelled.`
      : `${execution.failedCount} of ${execution.taskCount} task(s) failed after ${maxRetries + 1} attempt(s); last error: ${store.lastFailure(execution.name) ?? 'unknown'}`;
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
      if (running.size >= LIMITS.runningJobExecutions) {
        throw new ApiError(
          'RESOURCE_EXHAUSTED',
          `${LIMITS.runningJobExecutions} job executions are running already (Cloud Run's limit per project and region).`,
        );
      }
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
      for (const row of store.unfinishedExecutions()) {
        if (running.has(row.name)) continue;
        // One unreadable or oversized row must not keep the others, or the start, from going on.
        try {
          const execution = JSON.parse(row.data) as Execution;
          const problem = unresumable(execution);
          if (problem === undefined) {
            logger.warn('resuming a job execution left unfinished', { execution: row.name });
            launch(execution);
            continue;
          }
          execution.name = row.name;
          failWithoutRunning(execution, `local-cloud did not resume this execution: ${problem}.`);
        } catch (error) {
          store.markDone(row.name);
          logger.error('a stored job execution could not be read; marked done, not resumed', {
            execution: row.name,
            error: coerceError(error).message,
          });
        }
      }
    },
    async stop() {
      stopController.abort();
      await Promise.allSettled([...running.values()]);
    },
  };
}
