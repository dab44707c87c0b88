/**
 * The outbox relay: takes due outbox rows (oldest first), dispatches each
 * through the TaskDispatcher with bounded concurrency, and deletes a row only
 * once its task exists (ALREADY_EXISTS counts), marking the image `queued`.
 * A failed dispatch stays in the table with attempts + 1 and
 * next_attempt_at = now + min(maxDelay, initialDelay · 2^attempts) · jitter,
 * so no row is ever dropped and a restart resumes where it stopped. The loop
 * wakes on `notify()` (after an insert) or every `pollIntervalMs`.
 */
import type { TaskDispatcher } from '@slideshow/dispatch';
import { coerceError, type Logger } from '@slideshow/runtime';
import type { Db } from './db/open-database.ts';
import type { OutboxRow } from './db/outbox-repository.ts';
import type { Repositories } from './lifecycle.ts';

/** Options for {@link createOutboxRelay}; defaults in {@link RELAY_DEFAULTS}. */
export interface OutboxRelayOptions {
  db: Db;
  repos: Repositories;
  dispatcher: TaskDispatcher;
  logger: Logger;
  now?: () => number;
  batchSize?: number;
  concurrency?: number;
  pollIntervalMs?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/** Relay defaults in one place. */
export const RELAY_DEFAULTS = {
  batchSize: 200,
  concurrency: 32,
  pollIntervalMs: 1_000,
  initialDelayMs: 1_000,
  maxDelayMs: 5 * 60_000,
} as const;

/** The running relay. */
export interface OutboxRelay {
  /** Starts the loop (idempotent). */
  start(): void;
  /** Wakes the loop now (a row was just added). */
  notify(): void;
  /** Runs passes until nothing is due; for tests and shutdown drains. Returns rows dispatched. */
  drain(): Promise<number>;
  /** Stops the loop and waits for in-flight dispatches to settle. */
  stop(): Promise<void>;
}

/** Backoff before attempt `attempts + 1`: capped exponential with ±20 % jitter. */
export function backoffMs(attempts: number, initialDelayMs: number, maxDelayMs: number): number {
  const base = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(attempts, 30));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/** Creates the relay (not started). */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const o = { ...RELAY_DEFAULTS, ...stripUndefined(options) };
  const now = options.now ?? Date.now;
  const { repos, dispatcher, logger } = options;
  let running = false;
  let wake: (() => void) | undefined;
  let loop: Promise<void> | undefined;
  let pass: Promise<number> | undefined;

  // Dispatched rows are deleted in one transaction per pass (one commit, not one per row). A
  // crash before that commit re-dispatches them, which ALREADY_EXISTS makes harmless.
  const finish = (rows: OutboxRow[]) => {
    if (rows.length === 0) return;
    const at = new Date(now()).toISOString();
    options.db.transaction(() => {
      for (const row of rows) {
        repos.outbox.remove(row.id);
        repos.images.markDispatched(row.image_id, row.generation, at);
      }
    })();
  };

  const dispatchOne = async (row: OutboxRow, done: OutboxRow[]): Promise<boolean> => {
    try {
      const result = await dispatcher.dispatch({
        imageId: row.image_id,
        generation: row.generation,
        queue: row.queue,
        // The workflow passes the generation to the processor and names it in its failure
        // reports, so a late report from this attempt cannot touch a newer generation.
        argument: { file_id: row.image_id, generation: row.generation },
      });
      done.push(row);
      logger.debug('dispatched', {
        imageId: row.image_id,
        generation: row.generation,
        taskName: result.taskName,
        alreadyExisted: result.alreadyExisted,
      });
      return true;
    } catch (error) {
      const e = coerceError(error, 'DISPATCH_FAILED');
      const delay = backoffMs(row.attempts, o.initialDelayMs, o.maxDelayMs);
      repos.outbox.reschedule(row.id, now() + delay, `${e.code}: ${e.message}`.slice(0, 1000));
      const log = row.attempts >= 3 ? logger.error : logger.warn;
      log('dispatch failed; will retry', {
        imageId: row.image_id,
        generation: row.generation,
        attempts: row.attempts + 1,
        retryInMs: delay,
        error: e,
      });
      return false;
    }
  };

  const runPass = async (): Promise<number> => {
    const rows = repos.outbox.due(now(), o.batchSize);
    let next = 0;
    let ok = 0;
    const done: OutboxRow[] = [];
    const worker = async () => {
      while (next < rows.length) {
        const row = rows[next++];
        if (row && (await dispatchOne(row, done))) ok++;
        // Commit in chunks so a slow straggler does not hold back finished rows.
        if (done.length >= 50) finish(done.splice(0));
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(o.concurrency, rows.length) }, worker));
    } finally {
      finish(done.splice(0));
    }
    return rows.length === 0 ? -1 : ok;
  };

  const onePass = (): Promise<number> => {
    pass ??= runPass().finally(() => {
      pass = undefined;
    });
    return pass;
  };

  const sleepUntilWoken = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  // Set by notify() while a pass runs: a row may have been added after its SELECT.
  let dirty = false;
  const run = async () => {
    while (running) {
      dirty = false;
      let dispatched = -1;
      try {
        dispatched = await onePass();
      } catch (error) {
        logger.error('outbox pass failed', { error: coerceError(error) });
      }
      if (!running) break;
      // A full batch means more may be due: go again at once; otherwise wait.
      if (dirty || dispatched >= o.batchSize) continue;
      await sleepUntilWoken(o.pollIntervalMs);
    }
  };

  let notified = false;
  return {
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    notify() {
      if (notified) return;
      notified = true;
      queueMicrotask(() => {
        notified = false;
        if (wake) wake();
        else dirty = true;
      });
    },
    async drain() {
      let total = 0;
      for (let i = 0; i < 10_000; i++) {
        const n = await onePass();
        if (n <= 0) break;
        total += n;
      }
      return total;
    },
    async stop() {
      running = false;
      wake?.();
      await loop;
      await pass;
    },
  };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
