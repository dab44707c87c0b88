/**
 * Two-step check of the job spec. The fields needed to start (generation,
 * source key, status) are checked with zod/mini straight away, so `started`
 * and the read of the original can begin; the full contract
 * (`JobSpec` from @slideshow/contracts, classic zod) is checked while the bytes
 * arrive, and before anything is processed, written or reported complete.
 * Evaluating classic zod costs more than a bare Node start on the development
 * machine, so keeping it off the path to the first storage read is what makes
 * the start-up target reachable (README "Start-up").
 */
import type { JobSpec } from '@slideshow/contracts';
import { AppError } from '@slideshow/runtime';
import * as z from 'zod/mini';

const StartFields = z.looseObject({
  generation: z.number().check(z.refine(Number.isInteger, 'must be an integer')),
  sourceKey: z.string().check(z.minLength(1)),
  status: z.string(),
  begun: z.optional(z.boolean()),
});

/** What a task needs to begin: checked before the full contract. */
export type StartFields = z.infer<typeof StartFields>;

/**
 * Job spec statuses with nothing left to do: the image is skipped
 * (`already-done`), on a duplicate delivery or a batch task's retry.
 */
export const SETTLED_STATUSES: ReadonlySet<string> = new Set(['processed', 'failed']);

/**
 * Whether an earlier attempt began the image (its `started` was accepted) and
 * did not finish it: the job spec's `begun` (a regeneration's status says
 * `regenerating` either way), or, from a backend that does not send it, a
 * `processing` status. A batch task's retry takes these images last
 * (run-task.ts).
 */
export function wasBegun(fields: { status?: string; begun?: boolean }): boolean {
  return fields.begun ?? fields.status === 'processing';
}

function malformed(imageId: string, issues: readonly z.core.$ZodIssue[]): AppError {
  return new AppError('VALIDATION_FAILED', `job spec for ${imageId} is malformed`, {
    context: { issues: issues.map((i) => `${i.path.join('.')}: ${i.message}`) },
  });
}

/** Checks the fields needed to start; throws AppError VALIDATION_FAILED (permanent). */
export function startFields(imageId: string, raw: unknown): StartFields {
  const parsed = z.safeParse(StartFields, raw);
  if (!parsed.success) throw malformed(imageId, parsed.error.issues);
  return parsed.data;
}

/** Checks the whole job spec against the contract; throws AppError VALIDATION_FAILED (permanent). */
export async function fullJobSpec(imageId: string, raw: unknown): Promise<JobSpec> {
  const { JobSpec } = await import('@slideshow/contracts/processing');
  const parsed = JobSpec.safeParse(raw);
  if (!parsed.success) throw malformed(imageId, parsed.error.issues);
  if (parsed.data.imageId !== imageId) {
    throw new AppError('VALIDATION_FAILED', `job spec for ${imageId} names ${parsed.data.imageId}`);
  }
  return parsed.data;
}
