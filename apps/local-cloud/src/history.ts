/**
 * Pruning of finished history. Nothing else deletes workflow executions, job
 * executions or what hangs off them (labels, connector calls, run records,
 * task attempts, cancel records, the operations that follow a job execution),
 * and a soak grows local-cloud.db by ~10 KB per image. A sweep deletes those
 * that ended more than the retention period ago, oldest first, `PRUNE_BATCH`
 * per transaction with the event loop free between transactions, so API
 * calls and dispatch never wait long behind it. An ACTIVE workflow execution,
 * a job execution not done, and a job execution an ACTIVE workflow execution
 * started (a re-run after a restart joins it through its connector call) are
 * never pruned.
 *
 * Google keeps a Workflows execution's history for 90 days after it ends
 * (Workflows quotas and limits, execution history retention); a development
 * emulator keeps 7 days by default (`HISTORY_RETENTION_MS`):
 * enough to look back on a week's work, and a soak's database stays in the
 * tens of MB instead of growing without end.
 */
import { setImmediate as yieldToEvents } from 'node:timers/promises';
import { coerceError, type Logger } from '@slideshow/runtime';
import type { Db } from './db.ts';

/** Default retention of finished executions: 7 days. */
export const HISTORY_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
/** How often the sweep runs (and once at start). */
export const HISTORY_SWEEP_INTERVAL_MS = 10 * 60 * 1000;
/** Executions (of each kind) deleted per transaction. */
export const PRUNE_BATCH = 100;

/** What one batch deleted. */
export interface Pruned {
  executions: number;
  jobExecutions: number;
}

/** Deletes finished history in batches. */
export interface HistoryPruner {
  /** Deletes, in one transaction, up to `PRUNE_BATCH` executions of each kind that ended before `cutoffMs`. */
  pruneBatch(cutoffMs: number): Pruned;
}

/** Creates the pruner over the database. */
export function createHistoryPruner(db: Db): HistoryPruner {
  const s = {
    executions: db.prepare<[number, number], { name: string }>(
      `SELECT name FROM executions WHERE end_ms < ? AND state <> 'ACTIVE'
       ORDER BY end_ms LIMIT ?`,
    ),
    jobExecutions: db.prepare<[number, number], { name: string }>(
      // `+done`: the oldest ends first, from the end_ms index, not a scan of every done row.
      `SELECT name FROM job_executions j WHERE end_ms < ? AND +done = 1
         AND NOT EXISTS (
           SELECT 1 FROM operations o
             JOIN connector_calls c ON c.operation = o.name
             JOIN executions e ON e.name = c.execution
           WHERE o.execution = j.name AND e.state = 'ACTIVE')
       ORDER BY end_ms LIMIT ?`,
    ),
    execution: [
      'DELETE FROM execution_labels WHERE execution = ?',
      'DELETE FROM connector_calls WHERE execution = ?',
      'DELETE FROM execution_runs WHERE name = ?',
      'DELETE FROM executions WHERE name = ?',
    ].map((sql) => db.prepare<[string]>(sql)),
    jobExecution: [
      'DELETE FROM job_task_attempts WHERE execution = ?',
      'DELETE FROM job_execution_cancels WHERE name = ?',
      'DELETE FROM operations WHERE execution = ?',
      'DELETE FROM job_executions WHERE name = ?',
    ].map((sql) => db.prepare<[string]>(sql)),
  };
  return {
    pruneBatch: db.transaction((cutoffMs: number): Pruned => {
      const executions = s.executions.all(cutoffMs, PRUNE_BATCH);
      for (const { name } of executions) for (const del of s.execution) del.run(name);
      const jobExecutions = s.jobExecutions.all(cutoffMs, PRUNE_BATCH);
      for (const { name } of jobExecutions) for (const del of s.jobExecution) del.run(name);
      return { executions: executions.length, jobExecutions: jobExecutions.length };
    }),
  };
}

/** The periodic sweep. */
export interface HistorySweep {
  /** Runs one sweep now (tests; the timer runs them otherwise); resolves with what it deleted. */
  sweep(): Promise<Pruned>;
  /** Stops the timer and waits for a sweep under way. */
  stop(): Promise<void>;
}

/** Options of the sweep. */
export interface HistorySweepOptions {
  pruner: HistoryPruner;
  /** Finished executions older than this are deleted; 0 keeps everything. */
  retentionMs: number;
  intervalMs?: number;
  now: () => number;
  logger: Logger;
}

/** Starts the sweep: once now, then every `intervalMs`; a retention of 0 starts nothing. */
export function startHistorySweep(options: HistorySweepOptions): HistorySweep {
  const { pruner, retentionMs, now, logger } = options;
  let stopped = false;
  let running: Promise<Pruned> | undefined;
  const sweepOnce = async (): Promise<Pruned> => {
    const cutoff = now() - retentionMs;
    const total: Pruned = { executions: 0, jobExecutions: 0 };
    while (!stopped) {
      const pruned = pruner.pruneBatch(cutoff);
      total.executions += pruned.executions;
      total.jobExecutions += pruned.jobExecutions;
      if (pruned.executions < PRUNE_BATCH && pruned.jobExecutions < PRUNE_BATCH) break;
      await yieldToEvents();
    }
    if (total.executions + total.jobExecutions > 0) {
      logger.info('pruned finished executions past the retention period', {
        ...total,
        retentionMs,
      });
    }
    return total;
  };
  const sweep = (): Promise<Pruned> => {
    if (retentionMs <= 0) return Promise.resolve({ executions: 0, jobExecutions: 0 });
    running ??= sweepOnce().finally(() => {
      running = undefined;
    });
    return running;
  };
  const onTimer = () => {
    sweep().catch((error: unknown) => {
      logger.error('pruning history failed', { error: coerceError(error) });
    });
  };
  const timer =
    retentionMs > 0
      ? setInterval(onTimer, options.intervalMs ?? HISTORY_SWEEP_INTERVAL_MS)
      : undefined;
  timer?.unref();
  if (retentionMs > 0) setImmediate(onTimer);
  return {
    sweep,
    async stop() {
      stopped = true;
      if (timer !== undefined) clearInterval(timer);
      // A failed sweep was already reported to whoever ran it (the timer logs it).
      await running?.catch(() => undefined);
    },
  };
}
