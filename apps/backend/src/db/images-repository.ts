/**
 * The `images` table: one prepared statement per operation. State changes are
 * guarded (`WHERE id = ? AND generation = ? AND status IN (…)`), so a late or
 * duplicate callback changes nothing; callers read `changes` to tell.
 */
import type { ImageStatus } from '@slideshow/contracts';
import type { Db } from './open-database.ts';

/** A row of `images` as SQLite returns it. */
export interface ImageRow {
  id: string;
  original_name: string;
  content_type: string;
  bytes: number;
  sha256: string;
  source_key: string;
  status: ImageStatus;
  generation: number;
  priority: 'interactive' | 'batch';
  preset: string;
  width: number | null;
  height: number | null;
  format: string | null;
  has_alpha: number | null;
  frames: number | null;
  variants: string | null;
  placeholder: string | null;
  dominant_color: string | null;
  timings: string | null;
  attempts: number;
  last_error_code: string | null;
  execution: string | null;
  reaped_count: number;
  /** The dispatch (task id, execution label) carrying the current generation; null before it (migration 004). */
  dispatch_key: string | null;
  /** When the reaper last found this generation's dispatch alive (waiting or running). */
  alive_at: string | null;
  created_at: string;
  updated_at: string;
  processed_at: string | null;
  /** Content hash of the preset that made the served variants (migration 009); null before versions. */
  preset_version: string | null;
  /** The Cloud Run task attempt of the last accepted `started` (migration 019); null when it named none. */
  started_attempt: number | null;
}

/** What a new image needs; everything else starts at its default. */
export type NewImage = Pick<
  ImageRow,
  | 'id'
  | 'original_name'
  | 'content_type'
  | 'bytes'
  | 'sha256'
  | 'source_key'
  | 'priority'
  | 'preset'
  | 'created_at'
> & { width: number | null; height: number | null; format: string | null };

/** What a processed generation records. */
export interface ProcessedFields {
  width: number;
  height: number;
  format: string;
  hasAlpha: boolean;
  frames: number;
  variants: string;
  /** Null when the preset turns placeholders off. */
  placeholder: string | null;
  dominantColor: string;
  timings: string;
  /** The preset version the processor reported it used, if any. */
  presetVersion: string | null;
}

/**
 * The queries over many images: the counts and oldest wait `/status` shows,
 * and the reaper's candidates.
 */
function createImageQueries(db: Db) {
  const counts = db.prepare<[], { status: ImageStatus; n: number }>(
    'SELECT status, count(*) AS n FROM images GROUP BY status',
  );
  const oldestWaiting = db.prepare<[], { t: string | null }>(
    `SELECT min(updated_at) AS t FROM images WHERE status IN ('uploaded', 'queued')`,
  );
  // ISO-8601 UTC strings compare like the instants they name. An `uploaded` image always has
  // its outbox row until the relay dispatched or failed it; one without is a dispatch lost by
  // hand (an edited database), and the reaper treats it like any other stuck image.
  const stuck = db.prepare<[string, number], ImageRow>(
    `SELECT * FROM images WHERE status IN ('uploaded', 'queued', 'processing')
       AND max(updated_at, coalesce(alive_at, '')) < ?
       AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.image_id = images.id)
     ORDER BY max(updated_at, coalesce(alive_at, '')) LIMIT ?`,
  );

  return {
    /** Number of images per status. */
    countsByStatus: (): Record<ImageStatus, number> => {
      const out: Record<ImageStatus, number> = {
        uploaded: 0,
        queued: 0,
        processing: 0,
        processed: 0,
        failed: 0,
      };
      for (const r of counts.all()) out[r.status] = r.n;
      return out;
    },
    /** `updated_at` of the longest-waiting uploaded/queued image. */
    oldestWaitingSince: (): string | null => oldestWaiting.get()?.t ?? null,
    /** Images in uploaded/queued/processing untouched (and not seen alive) since `before`, with no pending dispatch. */
    findStuck: (before: string, limit: number): ImageRow[] => stuck.all(before, limit),
  };
}

/** Single rows: looked up by id, content hash or source, inserted, deleted. */
function createImageRecords(db: Db) {
  const byId = db.prepare<[string], ImageRow>('SELECT * FROM images WHERE id = ?');
  const bySha = db.prepare<[string], ImageRow>('SELECT * FROM images WHERE sha256 = ?');
  const bySource = db.prepare<[string], { n: number }>(
    'SELECT count(*) AS n FROM images WHERE source_key = ?',
  );
  const insert = db.prepare(
    `INSERT INTO images (id, original_name, content_type, bytes, sha256, source_key, status, generation,
       priority, preset, width, height, format, created_at, updated_at)
     VALUES (@id, @original_name, @content_type, @bytes, @sha256, @source_key, 'uploaded', 0,
       @priority, @preset, @width, @height, @format, @created_at, @created_at)`,
  );
  const remove = db.prepare<[string]>('DELETE FROM images WHERE id = ?');

  return {
    /** The row for `id`, if any. */
    get: (id: string): ImageRow | undefined => byId.get(id),
    /** The row with this content hash, if any. */
    getBySha256: (sha256: string): ImageRow | undefined => bySha.get(sha256),
    /** True when some image's source is `key` (uploaded or ingested). */
    usesSource: (key: string): boolean => (bySource.get(key)?.n ?? 0) > 0,
    /** Inserts a new image in status `uploaded` at generation 0. */
    insert: (image: NewImage): void => {
      insert.run(image);
    },
    /** Deletes the row (failed_tasks and outbox rows cascade). */
    delete: (id: string) => remove.run(id).changes === 1,
  };
}

/** What the processor's reports change: started, processed, switched to a regeneration's set, failed. */
function createProcessingTransitions(db: Db) {
  const started = db.prepare<[string | null, number | null, string, string, number]>(
    `UPDATE images SET status = 'processing', attempts = attempts + 1, execution = coalesce(?, execution),
       started_attempt = ?, updated_at = ?
     WHERE id = ? AND generation = ? AND status IN ('uploaded', 'queued', 'processing')`,
  );
  const processed = db.prepare(
    `UPDATE images SET status = 'processed', width = @width, height = @height, format = @format,
       has_alpha = @hasAlpha, frames = @frames, variants = @variants, placeholder = @placeholder,
       dominant_color = @dominantColor, timings = @timings, last_error_code = NULL,
       preset_version = @presetVersion, updated_at = @now, processed_at = @now
     WHERE id = @id AND generation = @generation AND status IN ('uploaded', 'queued', 'processing', 'failed')`,
  );
  // A regeneration's atomic switch: the served set (preset, generation, variants) changes in one
  // statement, only while the image is still processed at the generation the switch replaces.
  const switched = db.prepare(
    `UPDATE images SET generation = @toGeneration, preset = @preset, preset_version = @presetVersion,
       width = @width, height = @height, format = @format, has_alpha = @hasAlpha, frames = @frames,
       variants = @variants, placeholder = @placeholder, dominant_color = @dominantColor,
       timings = @timings, processed_at = @now
     WHERE id = @id AND generation = @fromGeneration AND status = 'processed'`,
  );
  const failed = db.prepare<[string, string | null, string, string, number]>(
    `UPDATE images SET status = 'failed', last_error_code = ?, execution = coalesce(?, execution),
       updated_at = ? WHERE id = ? AND generation = ? AND status IN ('uploaded', 'queued', 'processing', 'failed')`,
  );

  return {
    /** uploaded|queued|processing → processing for this generation, by `attempt` of `execution`. */
    markStarted: (
      id: string,
      generation: number,
      execution: string | null,
      attempt: number | null,
      now: string,
    ) => started.run(execution, attempt, now, id, generation).changes === 1,
    /** → processed for this generation (also from failed: a late success beats a reaper verdict). */
    markProcessed: (id: string, generation: number, fields: ProcessedFields, now: string) =>
      processed.run({
        ...fields,
        hasAlpha: fields.hasAlpha ? 1 : 0,
        id,
        generation,
        now,
      }).changes === 1,
    /**
     * Replaces a processed image's served variant set with a regeneration's
     * (generation `toGeneration`, made with `preset`); false when the image
     * moved on (no longer processed at `fromGeneration`).
     */
    switchVariants: (
      id: string,
      fromGeneration: number,
      toGeneration: number,
      preset: string,
      fields: ProcessedFields,
      now: string,
    ) =>
      switched.run({
        ...fields,
        hasAlpha: fields.hasAlpha ? 1 : 0,
        id,
        fromGeneration,
        toGeneration,
        preset,
        now,
      }).changes === 1,
    /** → failed for this generation, unless already processed. */
    markFailed: (
      id: string,
      generation: number,
      code: string,
      execution: string | null,
      now: string,
    ) => failed.run(code, execution, now, id, generation).changes === 1,
  };
}

/** What dispatching changes: a new generation queued, its task recorded, its dispatch seen alive. */
function createDispatchTransitions(db: Db) {
  // The one rule for an image's next generation (docs/architecture.md, "Generations"): above
  // its own and every generation a regeneration of it was dispatched at, so the new one has a
  // task name of its own and no regeneration's item claims its reports. An item's generation
  // only ever grows (each dispatch takes this rule's value); the one a withdrawn, never-sent
  // dispatch held is forgotten, which is harmless: no task, execution or report carries it.
  const next = db.prepare<[string], { g: number }>(
    `SELECT max(generation, coalesce((SELECT max(r.generation) FROM regen_items r
       WHERE r.image_id = images.id), 0)) + 1 AS g FROM images WHERE id = ?`,
  );
  // A retry by an admin resets the reaper's count; a reaper re-dispatch increments it.
  const requeue = db.prepare<[number, number, string, string, number]>(
    `UPDATE images SET status = 'queued', generation = ?, last_error_code = NULL,
       reaped_count = CASE WHEN ? THEN reaped_count + 1 ELSE 0 END, updated_at = ?,
       dispatch_key = NULL, alive_at = NULL
     WHERE id = ? AND generation = ? AND status IN ('failed', 'uploaded', 'queued', 'processing')`,
  );
  // The task exists: the reaper's clock starts now, and it knows which dispatch to look up.
  const dispatched = db.prepare<[string, string, string, number]>(
    `UPDATE images SET status = 'queued', dispatch_key = ?, updated_at = ?, alive_at = NULL
     WHERE id = ? AND generation = ? AND status IN ('uploaded', 'queued')`,
  );
  const alive = db.prepare<[string, string, number, string]>(
    `UPDATE images SET alive_at = ? WHERE id = ? AND generation = ? AND updated_at = ?
       AND status IN ('uploaded', 'queued', 'processing')`,
  );

  return {
    /**
     * The generation the image's next dispatch takes, a retry's or a regeneration's:
     * one above the image's and every regeneration item's (undefined: no such image).
     */
    nextGeneration: (id: string): number | undefined => next.get(id)?.g,
    /**
     * Moves the image from `generation` to its {@link nextGeneration} and sets `queued` (admin
     * retry, or a reaper re-dispatch when `byReaper`); returns the new generation, or undefined
     * when the image moved on (not at `generation`, or settled).
     */
    requeue: (
      id: string,
      generation: number,
      now: string,
      byReaper = false,
    ): number | undefined => {
      const to = next.get(id)?.g;
      if (to === undefined) return undefined;
      return requeue.run(to, byReaper ? 1 : 0, now, id, generation).changes === 1 ? to : undefined;
    },
    /** uploaded → queued once its task exists, recording the dispatch key (a requeued image stays queued). */
    markDispatched: (id: string, generation: number, dispatchKey: string, now: string) =>
      dispatched.run(dispatchKey, now, id, generation).changes === 1,
    /** Restarts the reaper's clock: the dispatch was seen alive at `now` (unless the row moved on). */
    markAlive: (id: string, generation: number, updatedAt: string, now: string) =>
      alive.run(now, id, generation, updatedAt).changes === 1,
  };
}

/** Creates the repository over `db`. */
export function createImagesRepository(db: Db) {
  return {
    ...createImageRecords(db),
    ...createProcessingTransitions(db),
    ...createDispatchTransitions(db),
    ...createImageQueries(db),
  };
}
