import * as z from 'zod';
import { ImageResult } from './image-result.ts';

/** What the processor asks the backend for before it starts (`GET /api/processing/:id`). */
export const JobSpec = z.object({
  imageId: z.string().min(1),
  generation: z.number().int().nonnegative(),
  /** Storage key of the original. */
  sourceKey: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Versioned preset name, e.g. `web-v1`. */
  preset: z.string().min(1),
  /**
   * The preset's definition and its quality-search baseline, by name, as the
   * backend's preset file has them (packages/imaging preset-config.ts
   * `presetClosure`), and their content hash: the processor checks the hash
   * and processes with exactly these settings. Absent from older backends:
   * the processor then looks `preset` up in its own copy of the file.
   */
  presets: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
  presetVersion: z
    .string()
    .regex(/^[0-9a-f]{16}$/)
    .optional(),
  /** Storage key prefix every variant is written under (ends with `/`). */
  variantPrefix: z.string().min(1),
  /**
   * The image's status (`uploaded`, `queued`, `processing`, `processed`,
   * `failed`), or `regenerating` for a regeneration's generation, begun or not.
   */
  status: z.string(),
  /**
   * Whether an attempt at this generation already began the image (its
   * `started` was accepted) without settling it: `status` is `processing` for
   * an image's own generation; a regeneration's says `regenerating` either
   * way, and only this field tells. A batch task's retry takes the never-begun
   * images first (apps/processor/README.md, "Batch mode"). Absent from older
   * backends: the processor then goes by `status` alone.
   */
  begun: z.boolean().optional(),
});
export type JobSpec = z.infer<typeof JobSpec>;

/**
 * Which Cloud Run attempt a callback comes from.
 *
 * The callback bodies (`StartedBody`, `CompleteBody` with its `ImageResult`,
 * `FailedBody`) are lenient, unlike the admin bodies: an unknown field is
 * dropped, never refused. They are a contract between two deployments that
 * roll out apart — the processor job and the backend service are deployed by
 * separate builds (docs/deploy.md, "2. Deploy the images: Cloud Build"), so a
 * deploy in progress or a rollback of one runs processor N against backend
 * N±1 — and the workflow's backstop posts `failed` too. A field a newer
 * processor adds must reach an older backend as the report it still is:
 * refused, none of that processor's reports would land (a 400 is not retried,
 * apps/processor/src/backend-client.ts). The fields the backend reads are still
 * checked, by type and range; additions are optional fields, as `presetVersion`
 * was. `apps/backend/test/strict-bodies.test.ts` holds the callbacks to this.
 */
const Attempt = z.object({
  generation: z.number().int().nonnegative(),
  execution: z.string().max(200).optional(),
  attempt: z.number().int().nonnegative().optional(),
});

/** `POST /api/processing/:id/started`. */
export const StartedBody = Attempt;
export type StartedBody = z.infer<typeof StartedBody>;

/** `POST /api/processing/:id/complete`. */
export const CompleteBody = Attempt.extend({ result: ImageResult });
export type CompleteBody = z.infer<typeof CompleteBody>;

/**
 * Who recorded a failure: the seed's `failed_tasks.source`. `dispatch` is the
 * backend's own verdict when the queue service refused an image's dispatch or
 * the outbox relay gave up on it (docs/reliability.md); `regenerate` is a
 * failed regeneration of a processed image, whose old variants keep serving
 * (docs/operations.md, "Presets and regeneration").
 */
export const FailureSource = z.enum(['processor', 'workflow', 'reaper', 'dispatch', 'regenerate']);
export type FailureSource = z.infer<typeof FailureSource>;

/**
 * The sources a failure callback may name: the processor's and the workflow
 * backstop's. `reaper`, `dispatch` and `regenerate` are the backend's own
 * verdicts, never accepted from outside (docs/architecture.md, "Processing
 * callbacks"): a report filed as the reaper's would pass for the backend's own
 * STUCK verdict.
 */
export const ReportedFailureSource = FailureSource.extract(['processor', 'workflow']);
export type ReportedFailureSource = z.infer<typeof ReportedFailureSource>;

/**
 * `POST /api/processing/:id/failed`, from the processor or the workflow's
 * backstop. It always names the generation it is about (the workflow gets it
 * in its argument): a report for an older generation is refused as
 * STALE_GENERATION and changes nothing, so a late report can never fail a
 * newer attempt (docs/reliability.md, "Generations").
 */
export const FailedBody = z.object({
  generation: z.number().int().nonnegative(),
  execution: z.string().max(200).optional(),
  attempt: z.number().int().nonnegative().optional(),
  code: z.string().min(1).max(64),
  message: z.string().max(2000),
  source: ReportedFailureSource.default('processor'),
});
export type FailedBody = z.infer<typeof FailedBody>;

const Generation = z.number().int().nonnegative();

/**
 * The workflow execution argument (docs/architecture.md#argument-and-environment): one image or a
 * batch, each
 * with the generation it was dispatched for, which the workflow passes to the
 * processor (`TARGET_GENERATION(S)`) and names in its failure reports.
 */
export const WorkflowArgument = z.union([
  z.object({ file_id: z.string().min(1), generation: Generation }),
  z
    .object({
      file_ids: z.array(z.string().min(1)).min(1).max(10_000),
      generations: z.array(Generation).min(1).max(10_000),
    })
    .refine((a) => a.generations.length === a.file_ids.length, {
      message: 'generations must have one entry per file id',
      path: ['generations'],
    }),
]);
export type WorkflowArgument = z.infer<typeof WorkflowArgument>;

/** Image lifecycle (docs/architecture.md#image-states). */
export const ImageStatus = z.enum(['uploaded', 'queued', 'processing', 'processed', 'failed']);
export type ImageStatus = z.infer<typeof ImageStatus>;

/**
 * The answer (200) to `POST /api/processing/:id/started|complete|failed`: the
 * report was applied, or ignored with the reason (a duplicate or late
 * delivery). A report for another generation is 409 STALE_GENERATION instead.
 */
export const CallbackAnswer = z.discriminatedUnion('applied', [
  z.object({ applied: z.literal(true) }),
  z.object({ applied: z.literal(false), reason: z.string() }),
]);
export type CallbackAnswer = z.infer<typeof CallbackAnswer>;
