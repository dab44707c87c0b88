/**
 * The outbox relay: takes due outbox rows (oldest first), dispatches them
 * through the TaskDispatcher with bounded concurrency, and deletes a row only
 * once its task exists (ALREADY_EXISTS counts), marking the image `queued`
 * with the key of the dispatch that carries it.
 *
 * Batches (docs/operations.md, "Batch ingest"): on a queue with
 * `imagesPerExecution > 1` (ingest: 100 by default) rows first wait to be put
 * in a batch: a full batch as soon as enough rows are due, a partial one once
 * its oldest row has waited `batchWindowMs`. A batch is bounded by its size
 * and by the Executions API's 32 KB argument limit (`MAX_ARGUMENT_BYTES`); its
 * key (`batchTaskNameFor`) is stored on its rows in one transaction before the
 * first attempt, so every retry — after a failure or a crash — sends the same
 * task name and Cloud Tasks deduplicates it. One batch is one task, one
 * workflow execution and one Cloud Run job execution with one task per image
 * (`{file_ids, generations}`); the images still live and fail on their own.
 *
 * A failed dispatch stays in the table with attempts + 1 and
 * next_attempt_at = now + min(maxDelay, initialDelay · 2^attempts) · jitter
 * (a batch's rows together), so no row is ever dropped and a restart resumes
 * where it stopped. The loop wakes on `notify()` (after an insert) or every
 * `pollIntervalMs`.
 */
import type { WorkflowArgument } from '@slideshow/contracts';
import {
  batchTaskNameFor,
  MAX_ARGUMENT_BYTES,
  QUEUES,
  type QueueName,
  type TaskDispatcher,
} from '@slideshow/dispatch';
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
  /** Most outbox rows one pass reads. */
  rowsPerPass?: number;
  /** Dispatches in flight at once. */
  concurrency?: number;
  pollIntervalMs?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Images per workflow execution, per queue (1: each image alone). */
  imagesPerExecution?: Partial<Record<QueueName, number>>;
  /** Longest wait of a row for its batch to fill before a partial batch goes. */
  batchWindowMs?: number;
}

/** Relay defaults in one place. */
export const RELAY_DEFAULTS = {
  rowsPerPass: 200,
  concurrency: 32,
  pollIntervalMs: 1_000,
  initialDelayMs: 1_000,
  maxDelayMs: 5 * 60_000,
  /**
   * Interactive uploads go one per execution (no wait for companions); ingests
   * go 100 per execution, which multiplies what the ingest queue's job-run
   * budget carries (docs/operations.md, "Quotas and queue rates").
   */
  imagesPerExecution: { uploads: 1, ingest: 100 } as Readonly<Record<QueueName, number>>,
  batchWindowMs: 10_000,
} as const;

/** Most images per execution a configuration may ask for (Cloud Run allows 10,000 tasks; the argument limit allows ~900 ids). */
export const MAX_IMAGES_PER_EXECUTION = 1000;

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

/** One task to create: a single image, or every row of a batch. */
interface Unit {
  key: string;
  queue: QueueName;
  rows: OutboxRow[];
  argument: WorkflowArgument;
}

/** `{"file_ids":[],"generations":[]}` */
const EMPTY_BATCH_BYTES = 31;

/** What one more member adds to a batch argument's JSON text (its id, its generation, two commas). */
function memberBytes(row: OutboxRow, first: boolean): number {
  const own =
    Buffer.byteLength(JSON.stringify(row.image_id), 'utf8') + String(row.generation).length;
  return first ? own : own + 2;
}

function unitOf(rows: OutboxRow[]): Unit | undefined {
  const sorted = [...rows].sort((a, b) => a.id - b.id);
  const first = sorted[0];
  if (first === undefined) return undefined;
  if (first.batch_key === null) {
    return {
      key: first.task_name,
      queue: first.queue,
      rows: [first],
      argument: { file_id: first.image_id, generation: first.generation },
    };
  }
  return {
    key: first.batch_key,
    queue: first.queue,
    rows: sorted,
    argument: {
      file_ids: sorted.map((r) => r.image_id),
      generations: sorted.map((r) => r.generation),
    },
  };
}

/** Creates the relay (not started). */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const o = { ...RELAY_DEFAULTS, ...stripUndefined(options) };
  const perExecution: Record<QueueName, number> = {
    ...RELAY_DEFAULTS.imagesPerExecution,
    ...stripUndefined(options.imagesPerExecution ?? {}),
  };
  for (const queue of QUEUES) {
    const n = perExecution[queue];
    if (!Number.isInteger(n) || n < 1 || n > MAX_IMAGES_PER_EXECUTION) {
      throw new TypeError(
        `Expected an integer from 1 to ${MAX_IMAGES_PER_EXECUTION} for imagesPerExecution.${queue} but received ${String(n)} of type ${typeof n}`,
      );
    }
  }
  const batchedQueues = QUEUES.filter((q) => perExecution[q] > 1);
  const now = options.now ?? Date.now;
  const { repos, dispatcher, logger } = options;
  let running = false;
  let wake: (() => void) | undefined;
  let loop: Promise<void> | undefined;
  let pass: Promise<number> | undefined;

  // Dispatched rows are deleted in one transaction per chunk (one commit, not one per row). A
  // crash before that commit re-dispatches them, which ALREADY_EXISTS makes harmless.
  const finish = (units: Unit[]) => {
    if (units.length === 0) return;
    const at = new Date(now()).toISOString();
    options.db.transaction(() => {
      for (const unit of units) {
        for (const row of unit.rows) {
          repos.outbox.remove(row.id);
          repos.images.markDispatched(row.image_id, row.generation, unit.key, at);
        }
      }
    })();
  };

  /**
   * Puts due rows of the batched queues into batches: full ones at once, the
   * last partial one only when its oldest row has waited `batchWindowMs`.
   */
  const formBatches = () => {
    const t = now();
    for (const queue of batchedQueues) {
      const size = perExecution[queue];
      const rows = repos.outbox.unbatched(queue, t, Math.max(size * 4, o.rowsPerPass));
      let start = 0;
      while (start < rows.length) {
        let bytes = EMPTY_BATCH_BYTES;
        let end = start;
        while (end < rows.length && end - start < size) {
          const add = memberBytes(rows[end] as OutboxRow, end === start);
          if (bytes + add > MAX_ARGUMENT_BYTES) break;
          bytes += add;
          end += 1;
        }
        // Never an empty batch (ids are short, so one member always fits; this guards the loop).
        if (end === start) end = start + 1;
        const chunk = rows.slice(start, end);
        const full = chunk.length === size || end < rows.length;
        const oldest = chunk[0];
        if (oldest === undefined) break;
        if (!full && oldest.created_at > t - o.batchWindowMs) break;
        const key = batchTaskNameFor(
          chunk.map((r) => ({ imageId: r.image_id, generation: r.generation })),
        );
        repos.outbox.assignBatch(
          key,
          chunk.map((r) => r.id),
        );
        logger.debug('batch formed', { queue, key, images: chunk.length, argumentBytes: bytes });
        start = end;
      }
    }
  };

  /** The due dispatch units: singles as they are, batches with every row they have. */
  const dueUnits = (): { units: Unit[]; rows: number } => {
    const due = repos.outbox.due(now(), o.rowsPerPass, batchedQueues);
    const units: Unit[] = [];
    const seen = new Set<string>();
    for (const row of due) {
      if (row.batch_key === null) {
        const unit = unitOf([row]);
        if (unit) units.push(unit);
        continue;
      }
      if (seen.has(row.batch_key)) continue;
      seen.add(row.batch_key);
      const unit = unitOf(repos.outbox.batch(row.batch_key));
      if (unit) units.push(unit);
    }
    return { units, rows: due.length };
  };

  const dispatchUnit = async (unit: Unit, done: Unit[]): Promise<boolean> => {
    const context = {
      key: unit.key,
      queue: unit.queue,
      images: unit.rows.length,
      ...(unit.rows.length === 1
        ? { imageId: unit.rows[0]?.image_id, generation: unit.rows[0]?.generation }
        : {}),
    };
    try {
      const result = await dispatcher.dispatch({
        key: unit.key,
        queue: unit.queue,
        // The workflow passes each generation to the processor and names it in its failure
        // reports, so a late report from this attempt cannot touch a newer generation.
        argument: unit.argument,
      });
      done.push(unit);
      logger.debug('dispatched', {
        ...context,
        taskName: result.taskName,
        alreadyExisted: result.alreadyExisted,
      });
      return true;
    } catch (error) {
      const e = coerceError(error, 'DISPATCH_FAILED');
      const attempts = Math.max(...unit.rows.map((r) => r.attempts));
      const delay = backoffMs(attempts, o.initialDelayMs, o.maxDelayMs);
      const message = `${e.code}: ${e.message}`.slice(0, 1000);
      options.db.transaction(() => {
        for (const row of unit.rows) repos.outbox.reschedule(row.id, now() + delay, message);
      })();
      const log = attempts >= 3 ? logger.error : logger.warn;
      log('dispatch failed; will retry', {
        ...context,
        attempts: attempts + 1,
        retryInMs: delay,
        error: e,
      });
      return false;
    }
  };

  const runPass = async (): Promise<number> => {
    formBatches();
    const { units, rows } = dueUnits();
    let next = 0;
    let ok = 0;
    const done: Unit[] = [];
    let doneRows = 0;
    const worker = async () => {
      while (next < units.length) {
        const unit = units[next++];
        if (unit && (await dispatchUnit(unit, done))) {
          ok += unit.rows.length;
          doneRows += unit.rows.length;
        }
        // Commit in chunks so a slow straggler does not hold back finished rows.
        if (doneRows >= 50) {
          doneRows = 0;
          finish(done.splice(0));
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(o.concurrency, units.length) }, worker));
    } finally {
      finish(done.splice(0));
    }
    return rows === 0 ? -1 : ok;
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
      // A full pass means more may be due: go again at once; otherwise wait.
      if (dirty || dispatched >= o.rowsPerPass) continue;
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
