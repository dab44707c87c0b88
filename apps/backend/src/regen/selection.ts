/**
 * Which images a regeneration re-makes: processed images (only they serve a
 * variant set) matching the filter, whose served set was made with another
 * preset version than `version` (or with an unknown one: images processed
 * before presets were versioned), and that no run has already made, or is
 * making, at `version` — idempotent by (image, preset version). The dry run
 * reads this selection and a run inserts its items from it in one
 * `INSERT … SELECT`, so the dry run's count is the run's, and starting a run
 * over 95,000 images is one statement rather than one insert per image (each
 * run in JavaScript, holding the event loop for seconds); the dry run's figures
 * are one aggregate over it (estimate.ts).
 */

import type { RegenFilter } from '@slideshow/contracts';
import type { Db } from '../db/open-database.ts';

/** The selection as SQL: `FROM images i WHERE …` (no order) and its parameters. */
export function selectionOf(filter: RegenFilter, version: string) {
  const where = [
    `i.status = 'processed'`,
    `coalesce(i.preset_version, '') <> @version`,
    `NOT EXISTS (SELECT 1 FROM regen_items r WHERE r.image_id = i.id AND r.preset_version = @version
       AND r.state IN ('pending', 'dispatched', 'done'))`,
  ];
  const params: Record<string, string | number> = { version };
  if (filter.from !== undefined) {
    where.push('i.created_at >= @from');
    params.from = filter.from;
  }
  if (filter.to !== undefined) {
    where.push('i.created_at < @to');
    params.to = filter.to;
  }
  if (filter.visibility !== undefined) {
    where.push(filter.visibility === 'published' ? 'i.published = 1' : 'i.published = 0');
  }
  if (filter.ids !== undefined) {
    // Bound as one JSON parameter: no statement grows with the list.
    where.push('i.id IN (SELECT value FROM json_each(@ids))');
    params.ids = JSON.stringify(filter.ids);
  }
  return { from: `FROM images i WHERE ${where.join(' AND ')}`, params };
}

/** An image's size in megapixels (0 when unknown), as the estimates and the items record it. */
export const MEGAPIXELS = 'coalesce(i.width * i.height, 0) / 1e6';

/**
 * Adds the selection's images to run `runId` as pending items, oldest first
 * (the dispatch worker sends them by item id), in one statement; a failed or
 * cancelled item of an earlier run for the same (image, version) is taken
 * over. Returns how many were added.
 */
export function insertCandidates(
  db: Db,
  filter: RegenFilter,
  run: { runId: number; preset: string; presetVersion: string },
): number {
  const { from, params } = selectionOf(filter, run.presetVersion);
  // The selection has a WHERE, which SQLite needs to parse an upsert after a SELECT
  // (https://www.sqlite.org/lang_upsert.html, "Parsing Ambiguity").
  return db
    .prepare<Record<string, string | number>>(
      `INSERT INTO regen_items (run_id, image_id, preset, preset_version, state, megapixels)
       SELECT @runId, i.id, @preset, @version, 'pending', ${MEGAPIXELS} ${from}
       ORDER BY i.created_at, i.id
       ON CONFLICT (image_id, preset_version) DO UPDATE SET run_id = excluded.run_id,
         state = 'pending', megapixels = excluded.megapixels, error_code = NULL, cpu_ms = NULL,
         dispatched_at = NULL, finished_at = NULL
       WHERE regen_items.state IN ('failed', 'cancelled')`,
    )
    .run({ ...params, runId: run.runId, preset: run.preset }).changes;
}
