/**
 * Which images a regeneration re-makes: processed images (only they serve a
 * variant set) matching the filter, whose served set was made with another
 * preset version than `version` (or with an unknown one: images processed
 * before presets were versioned), and that no run has already made, or is
 * making, at `version` — idempotent by (image, preset version). The dry run
 * and the run use this one query, so the dry run's count is the run's.
 */

import type { RegenFilter } from '@slideshow/contracts';
import type { Db } from '../db/open-database.ts';
import type { Candidate } from '../db/regen-repository.ts';

/** The images a run over `filter` would re-make to `version`, oldest first. */
export function selectCandidates(db: Db, filter: RegenFilter, version: string): Candidate[] {
  const where = [
    `i.status = 'processed'`,
    `coalesce(i.preset_version, '') <> @version`,
    `NOT EXISTS (SELECT 1 FROM regen_items r WHERE r.image_id = i.id AND r.preset_version = @version
       AND r.state IN ('pending', 'dispatched', 'done'))`,
  ];
  const params: Record<string, string> = { version };
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
  return db
    .prepare<Record<string, string>, Candidate>(
      `SELECT i.id AS id, coalesce(i.width * i.height, 0) / 1e6 AS megapixels FROM images i
       WHERE ${where.join(' AND ')} ORDER BY i.created_at, i.id`,
    )
    .all(params);
}
