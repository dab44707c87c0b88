/**
 * What the outbox relay sends: units of dispatch, one task each — a single
 * image (its row's `task_name` is the key), or a batch of ingested images
 * (docs/operations.md, "Batch ingest"). On a queue with `imagesPerExecution > 1`
 * rows first wait to be put in a batch: a full batch as soon as enough rows
 * are due, a partial one once its oldest row has waited `batchWindowMs`. A
 * batch is bounded by its size and by the Executions API's 32 KB argument
 * limit (`MAX_ARGUMENT_BYTES`); its key (`batchTaskNameFor`) is stored on its
 * rows in one transaction before the first attempt, so every retry — after a
 * failure or a crash — sends the same task name and Cloud Tasks deduplicates
 * it.
 */
import type { WorkflowArgument } from '@slideshow/contracts';
import { batchTaskNameFor, MAX_ARGUMENT_BYTES, type QueueName } from '@slideshow/dispatch';
import type { Logger } from '@slideshow/runtime';
import type { OutboxRow } from './db/outbox-repository.ts';
import type { Repositories } from './repositories.ts';

/** One task to create: a single image, or every row of a batch. */
export interface DispatchUnit {
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

/** The unit a set of rows forms: the single row's own task, or the batch every row is in. */
export function unitOf(rows: OutboxRow[]): DispatchUnit | undefined {
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

/** How the relay forms batches. */
export interface BatchPlan {
  repos: Pick<Repositories, 'outbox'>;
  /** Images per execution of each batched queue (more than 1). */
  sizes: Partial<Record<QueueName, number>>;
  /** Most rows one pass reads. */
  rowsPerPass: number;
  batchWindowMs: number;
  logger: Logger;
}

/** Where the batch of `rows` from `start` ends (up to `size`, within the argument limit), and its argument's size. */
function batchEnd(
  rows: readonly OutboxRow[],
  start: number,
  size: number,
): { end: number; bytes: number } {
  let bytes = EMPTY_BATCH_BYTES;
  let end = start;
  while (end < rows.length && end - start < size) {
    const add = memberBytes(rows[end] as OutboxRow, end === start);
    if (bytes + add > MAX_ARGUMENT_BYTES) break;
    bytes += add;
    end += 1;
  }
  // Never an empty batch (ids are short, so one member always fits; this guards the loop).
  return { end: end === start ? start + 1 : end, bytes };
}

/**
 * Puts due rows of the batched queues into batches at `now`: full ones at
 * once, the last partial one only when its oldest row has waited `batchWindowMs`.
 */
export function formBatches(plan: BatchPlan, now: number): void {
  for (const [queue, size] of Object.entries(plan.sizes) as [QueueName, number][]) {
    const rows = plan.repos.outbox.unbatched(queue, now, Math.max(size * 4, plan.rowsPerPass));
    let start = 0;
    while (start < rows.length) {
      const { end, bytes } = batchEnd(rows, start, size);
      const chunk = rows.slice(start, end);
      const full = chunk.length === size || end < rows.length;
      const oldest = chunk[0];
      if (oldest === undefined) break;
      if (!full && oldest.created_at > now - plan.batchWindowMs) break;
      const key = batchTaskNameFor(
        chunk.map((r) => ({ imageId: r.image_id, generation: r.generation })),
      );
      plan.repos.outbox.assignBatch(
        key,
        chunk.map((r) => r.id),
      );
      plan.logger.debug('batch formed', {
        queue,
        dispatchKey: key,
        images: chunk.length,
        imageIds: chunk.map((r) => r.image_id),
        argumentBytes: bytes,
      });
      start = end;
    }
  }
}

/** The due dispatch units at `now`: singles as they are, batches with every row they have. */
export function dueUnits(
  repos: Pick<Repositories, 'outbox'>,
  now: number,
  limit: number,
  batchedQueues: readonly QueueName[],
): { units: DispatchUnit[]; rows: number } {
  const due = repos.outbox.due(now, limit, batchedQueues);
  const units: DispatchUnit[] = [];
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
}
