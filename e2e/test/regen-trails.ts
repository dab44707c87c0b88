/**
 * What the regeneration test (regenerate.test.ts) prints when it fails: the
 * run's items still in flight or failed, read from the backend's SQLite file,
 * with what the stack's logs say of their images (helpers.ts `logTrail`), so
 * that a failure on a CI machine, whose files are gone, explains itself.
 */
import type { LocalStack } from '@slideshow/tools/local-stack';
import { logTrail, openDb, problemLines } from './helpers.ts';

/** The run's items still in flight, and what the logs say of their images (for a wait that ran out). */
export function inFlightTrail(stack: LocalStack, runId: number): string {
  const db = openDb(stack);
  try {
    const items = db
      .prepare<
        [number],
        {
          image_id: string;
          generation: number;
          dispatched_at: number;
          started_at: number | null;
          dispatch_key: string | null;
        }
      >(
        // dispatch_key: the task and execution the relay sent it in (null: not sent yet).
        `SELECT image_id, generation, dispatched_at, started_at, dispatch_key FROM regen_items
         WHERE run_id = ? AND state = 'dispatched'`,
      )
      .all(runId);
    // Their dispatches still in the outbox, if any: a row there was never sent (or is backing off).
    const outbox = db
      .prepare<[number], Record<string, unknown>>(
        `SELECT o.image_id, o.generation, o.batch_key, o.attempts, o.next_attempt_at, o.last_error
         FROM outbox o JOIN regen_items r ON r.image_id = o.image_id AND r.generation = o.generation
         WHERE r.run_id = ? AND r.state = 'dispatched'`,
      )
      .all(runId);
    return [
      `in flight (now ${Date.now()}): ${JSON.stringify(items)}`,
      `their outbox rows: ${JSON.stringify(outbox)}`,
      logTrail(
        stack,
        items.map((i) => i.image_id),
      ),
      problemLines(stack),
    ].join('\n');
  } finally {
    db.close();
  }
}

/** The run's failed items, their failed_tasks messages, and what the logs say of their images. */
export function failedTrail(stack: LocalStack, runId: number): string {
  const db = openDb(stack);
  try {
    const failed = db
      .prepare<[number], { image_id: string; error_code: string | null; message: string | null }>(
        `SELECT r.image_id, r.error_code, f.error_message AS message FROM regen_items r
         LEFT JOIN failed_tasks f ON f.image_id = r.image_id AND f.resolved_at IS NULL
         WHERE r.run_id = ? AND r.state = 'failed'`,
      )
      .all(runId);
    return [
      `failed: ${JSON.stringify(failed)}`,
      logTrail(
        stack,
        failed.map((f) => f.image_id),
      ),
      problemLines(stack),
    ].join('\n');
  } finally {
    db.close();
  }
}

/**
 * For images whose variant folder still holds a set other than the one it serves: each set
 * there, the image's row, its regeneration items and deferred deletions, and what the logs say
 * of it (for the test's "old objects deleted" check).
 */
export function leftoverTrail(
  stack: LocalStack,
  leftovers: readonly { id: string; sets: readonly string[] }[],
): string {
  const db = openDb(stack);
  try {
    const image = db.prepare<[string], Record<string, unknown>>(
      'SELECT status, preset, preset_version, generation FROM images WHERE id = ?',
    );
    const items = db.prepare<[string], Record<string, unknown>>(
      `SELECT run_id, state, generation, error_code, dispatch_key, dispatched_at, started_at,
         finished_at FROM regen_items WHERE image_id = ?`,
    );
    const deletions = db.prepare<[string], Record<string, unknown>>(
      'SELECT prefix, delete_after, created_at FROM deferred_deletions WHERE image_id = ?',
    );
    return [
      `now ${Date.now()}`,
      ...leftovers.map(
        ({ id, sets }) =>
          `${id}: sets ${sets.join(', ')}; image ${JSON.stringify(image.get(id))}; items ${JSON.stringify(items.all(id))}; deletions pending ${JSON.stringify(deletions.all(id))}`,
      ),
      logTrail(
        stack,
        leftovers.map((l) => l.id),
        60,
      ),
      problemLines(stack),
    ].join('\n');
  } finally {
    db.close();
  }
}
