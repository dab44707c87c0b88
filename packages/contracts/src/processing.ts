import { z } from 'zod';
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
  /** Storage key prefix every variant is written under (ends with `/`). */
  variantPrefix: z.string().min(1),
  status: z.string(),
});
export type JobSpec = z.infer<typeof JobSpec>;

/** Which Cloud Run attempt a callback comes from. */
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

/** Who reported a failure: the seed's `failed_tasks.source`. */
export const FailureSource = z.enum(['processor', 'workflow', 'reaper']);
export type FailureSource = z.infer<typeof FailureSource>;

/**
 * `POST /api/processing/:id/failed`. The workflow's `except` branch does not
 * know the generation, so it is optional there; the backend then applies the
 * report to the current generation.
 */
export const FailedBody = z.object({
  generation: z.number().int().nonnegative().optional(),
  execution: z.string().max(200).optional(),
  attempt: z.number().int().nonnegative().optional(),
  code: z.string().min(1).max(64),
  message: z.string().max(2000),
  source: FailureSource.default('processor'),
});
export type FailedBody = z.infer<typeof FailedBody>;

/** The workflow execution argument (DESIGN §3.1): one image or a batch. */
export const WorkflowArgument = z.union([
  z.object({ file_id: z.string().min(1) }),
  z.object({ file_ids: z.array(z.string().min(1)).min(1).max(10_000) }),
]);
export type WorkflowArgument = z.infer<typeof WorkflowArgument>;

/** Image lifecycle (DESIGN §3.4). */
export const ImageStatus = z.enum(['uploaded', 'queued', 'processing', 'processed', 'failed']);
export type ImageStatus = z.infer<typeof ImageStatus>;
