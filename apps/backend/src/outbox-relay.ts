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

  const dispatchOne = async (row: OutboxRow): Promise<boolean> => {
    try {
      const result = await dispatcher.dispatch({
        imageId: row.image_id,
        generation: row.generation,
        queue: row.queue,
        argument: { file_id: row.image_id },
      });
      options.db.transaction(() => {
        repos.outbox.remove(row.id);
        repos.images.markDispatched(row.image_id, row.generation, new Date(now()).toISOString());
      })();
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
    const worker = async () => {
      while (next < rows.length) {
        const row = rows[next++];
        if (row && (await dispatchOne(row))) ok++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(o.concurrency, rows.length) }, worker));
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

  const run = async () => {
    while (running) {
      let dispatched = -1;
      try {
        dispatched = await onePass();
      } catch (error) {
        logger.error('outbox pass failed', { error: coerceError(error) });
      }
      if (!running) break;
      // A full batch means more may be due: go again at once; otherwise wait.
      if (dispatched < 0 || dispatched < o.batchSize) await sleepUntilWoken(o.pollIntervalMs);
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
        wake?.();
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
