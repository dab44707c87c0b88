import * as z from 'zod';

/** Most image ids one regeneration filter may name. */
export const MAX_REGEN_FILTER_IDS = 10_000;

/** An ISO 8601 instant with an offset or `Z`, normalised to UTC (`…Z`, milliseconds). */
const Instant = z.iso.datetime({ offset: true }).transform((v) => new Date(v).toISOString());

/**
 * Which images a regeneration takes (all processed images on an older preset
 * when empty): the `filter` of `POST /api/admin/regenerate`, stored with its
 * run. Strict, so a misspelt field (`visiblity`) is refused rather than
 * ignored, which would widen the run. `from` is inclusive, `to` exclusive: a
 * range that does not start before its end matches nothing and is refused.
 * The backend also checks each id's shape (its `IMAGE_ID_PATTERN`).
 */
export const RegenFilter = z
  .strictObject({
    ids: z.array(z.string().min(1)).min(1).max(MAX_REGEN_FILTER_IDS).optional(),
    /** Created at or after. */
    from: Instant.optional(),
    /** Created before. */
    to: Instant.optional(),
    /** `published` (shown in the slideshow) or `hidden`. */
    visibility: z.enum(['published', 'hidden']).optional(),
  })
  .refine((f) => f.from === undefined || f.to === undefined || f.from < f.to, {
    message: '`from` must be earlier than `to`',
    path: ['from'],
  });
export type RegenFilter = z.output<typeof RegenFilter>;

/**
 * A run's filter as the answers give it back: {@link RegenFilter}, but a field
 * an older client does not know is dropped, not refused (as every answer's
 * object schemas do).
 */
const AnsweredRegenFilter = RegenFilter.strip();

/** A regeneration run's status. */
export const RegenRunStatus = z.enum(['running', 'paused', 'cancelled', 'done', 'capped']);
export type RegenRunStatus = z.infer<typeof RegenRunStatus>;

/**
 * A regeneration run: its counts by item state, its caps, an ETA from the pace
 * so far (null before anything finished), and the dry run's estimate beside
 * what the processor measured.
 */
export const RegenRun = z.object({
  id: z.number().int().positive(),
  status: RegenRunStatus,
  /** Why it was cancelled or capped, or, for a run done with failures, how many failed; null for a clean run. */
  reason: z.string().nullable(),
  preset: z.string(),
  presetVersion: z.string(),
  filter: AnsweredRegenFilter,
  total: z.number().int().nonnegative(),
  done: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  cancelled: z.number().int().nonnegative(),
  inFlight: z.number().int().nonnegative(),
  remaining: z.number().int().nonnegative(),
  executions: z.number().int().nonnegative(),
  caps: z.object({
    executionsPerRun: z.number().int(),
    failures: z.number().int(),
    executionsPerHour: z.number().int(),
  }),
  etaSeconds: z.number().nonnegative().nullable(),
  estimate: z.object({ cpuSeconds: z.number(), costUsd: z.number() }),
  measured: z.object({ images: z.number().int(), cpuSeconds: z.number(), costUsd: z.number() }),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
});
export type RegenRun = z.infer<typeof RegenRun>;

/** A low and a high figure, low ≤ high. */
const Bounds = z.object({ low: z.number().nonnegative(), high: z.number().nonnegative() });

/**
 * `POST /api/admin/regenerate` with `dryRun: true`: what a run over `filter`
 * would take and cost, from the processor's measured CPU (`basis` says whose
 * images, `samples` how many). Each image's CPU is a fixed part plus a part
 * per megapixel (`model`); `range` is where the figures may fall, wide when
 * the figures are borrowed from other versions or the selection's sizes are
 * far from the measured ones. `model` and `range` were added later: a client
 * that does not know them reads the rest as before.
 */
export const RegenDryRunAnswer = z.object({
  dryRun: z.literal(true),
  preset: z.string(),
  presetVersion: z.string(),
  filter: AnsweredRegenFilter,
  images: z.number().int().nonnegative(),
  megapixels: z.number().nonnegative(),
  /** `cpuSeconds / megapixels`: per megapixel of this selection, the per-image part included. */
  cpuSecondsPerMegapixel: z.number().nonnegative(),
  basis: z.enum(['this preset version', 'other preset versions', 'documented figure']),
  samples: z.number().int().nonnegative(),
  cpuSeconds: z.number().nonnegative(),
  /** USD at list prices for the processor job's allocation. */
  costUsd: z.number().nonnegative(),
  /** The line behind `cpuSeconds` (CPU-s per image + CPU-s per megapixel) and how it was made. */
  model: z.object({
    perImageCpuSeconds: z.number().nonnegative(),
    perMegapixelCpuSeconds: z.number().nonnegative(),
    note: z.string(),
  }),
  range: z.object({ cpuSeconds: Bounds, costUsd: Bounds }),
});
export type RegenDryRunAnswer = z.infer<typeof RegenDryRunAnswer>;

/**
 * `POST /api/admin/regenerate` (202, the run started), `GET …/:run` and
 * `POST …/:run/pause|resume|cancel`: the run as it is now.
 */
export const RegenRunAnswer = z.object({ run: RegenRun });
export type RegenRunAnswer = z.infer<typeof RegenRunAnswer>;

/**
 * `GET /api/admin/regenerate`: the current preset, the active (else newest)
 * run, the ten newest runs, and the replaced variants waiting for their grace
 * period (`nextAt`: epoch milliseconds of the next deletion, null when none).
 */
export const RegenOverviewAnswer = z.object({
  preset: z.object({ name: z.string(), version: z.string() }),
  run: RegenRun.nullable(),
  runs: z.array(RegenRun),
  pendingDeletions: z.object({
    count: z.number().int().nonnegative(),
    nextAt: z.number().nullable(),
  }),
});
export type RegenOverviewAnswer = z.infer<typeof RegenOverviewAnswer>;
