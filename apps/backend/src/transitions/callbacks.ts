/**
 * The processing callbacks' transitions (routes/processing.ts): `started`,
 * `complete` and `failed`, each guarded by the image's generation and status,
 * so duplicate, late and stale-generation reports never overwrite newer state
 * (docs/reliability.md, "Generations").
 */
import type { CompleteBody, FailedBody, FailureSource, StartedBody } from '@slideshow/contracts';
import type { ImageRow } from '../db/images-repository.ts';
import type { Transition, TransitionContext } from './context.ts';

/**
 * How precisely each source knows why an attempt failed: the processor names
 * the error (CORRUPT_IMAGE, STORAGE_UNAVAILABLE…), the workflow only that the
 * job failed or timed out, the reaper only that nothing was heard, the relay
 * only that no task could be created (a callback for a generation the relay
 * failed means a task existed after all). For one generation, a less precise
 * report never replaces a more precise one.
 */
const SOURCE_PRECISION: Record<FailureSource, number> = {
  processor: 3,
  workflow: 2,
  reaper: 1,
  dispatch: 1,
  regenerate: 1,
};

/**
 * The columns a processor's result fills (variants and timings as JSON text);
 * a regeneration's switch (regen/processor-reports.ts) fills the same ones.
 */
export function resultColumns(r: CompleteBody['result']) {
  return {
    width: r.width,
    height: r.height,
    format: r.format,
    hasAlpha: r.hasAlpha,
    frames: r.frames,
    variants: JSON.stringify(r.variants),
    placeholder: r.placeholder,
    dominantColor: r.dominantColor,
    timings: JSON.stringify(r.timings),
    presetVersion: r.presetVersion ?? null,
  };
}

/**
 * Adds a processed image's measured CPU (the processor's `timings.cpu`, ms) to
 * its preset version's per-megapixel cost, which regeneration dry runs
 * estimate from. Images without a version or a CPU figure add nothing.
 */
export function recordCost(
  repos: TransitionContext['repos'],
  row: { preset: string },
  result: CompleteBody['result'],
): void {
  const cpuMs = result.timings.cpu;
  if (result.presetVersion === undefined || cpuMs === undefined) return;
  repos.regen.addCost({
    version: result.presetVersion,
    preset: result.preset ?? row.preset,
    megapixels: (result.width * result.height) / 1e6,
    cpuMs,
  });
}

/**
 * Why a `started` for the image's current generation is no new attempt, if it
 * is not: the image is already processing by this attempt of this execution
 * (the processor's client retried a `started` that had committed), or by a
 * later one (an earlier attempt's report arrived late). A report that names no
 * execution or attempt cannot be told apart, and counts.
 */
function repeatedStart(row: ImageRow, body: StartedBody): string | undefined {
  if (row.status !== 'processing' || body.execution === undefined || body.attempt === undefined) {
    return undefined;
  }
  if (row.execution !== body.execution || row.started_attempt === null) return undefined;
  if (body.attempt === row.started_attempt) return 'duplicate started';
  return body.attempt < row.started_attempt
    ? `attempt ${body.attempt} started after attempt ${row.started_attempt} of the same execution`
    : undefined;
}

/** The callback transitions over `ctx`. */
export function createCallbackTransitions(ctx: TransitionContext) {
  const { db, repos, iso, load, checkGeneration } = ctx;

  const started = db.transaction((id: string, body: StartedBody): Transition => {
    const row = load(id);
    checkGeneration(row, body.generation);
    const repeated = repeatedStart(row, body);
    if (repeated) return { applied: false, reason: repeated };
    const execution = body.execution ?? null;
    if (repos.images.markStarted(id, body.generation, execution, body.attempt ?? null, iso())) {
      return { applied: true };
    }
    return { applied: false, reason: `image is already ${row.status}` };
  });

  const complete = db.transaction((id: string, body: CompleteBody): Transition => {
    const row = load(id);
    checkGeneration(row, body.generation);
    if (row.status === 'processed') return { applied: false, reason: 'image is already processed' };
    const r = body.result;
    const ok = repos.images.markProcessed(id, body.generation, resultColumns(r), iso());
    if (!ok) return { applied: false, reason: `image is ${row.status}` };
    recordCost(repos, row, r);
    repos.failedTasks.resolve(id, iso());
    return { applied: true };
  });

  /**
   * An already-failed generation told again: a duplicate, a less precise
   * verdict (kept out), or a more precise one (replaces the verdict without
   * counting another attempt). Undefined: record it as a new attempt's.
   */
  const againForFailed = (id: string, body: FailedBody): Transition | undefined => {
    const open = repos.failedTasks.get(id);
    if (!open || open.resolved_at !== null) return undefined;
    const execution = body.execution ?? null;
    if (
      open.execution === execution &&
      open.error_code === body.code &&
      open.error_message === body.message
    ) {
      return { applied: false, reason: 'duplicate failure report' };
    }
    const recorded = SOURCE_PRECISION[open.source];
    const incoming = SOURCE_PRECISION[body.source];
    if (incoming < recorded) {
      return {
        applied: false,
        reason: `the ${open.source}'s report for generation ${body.generation} is kept`,
      };
    }
    if (incoming === recorded) return undefined;
    // The same attempt, told more precisely: replace the verdict, not a new attempt.
    repos.images.markFailed(id, body.generation, body.code, execution, iso());
    repos.failedTasks.refine({
      imageId: id,
      code: body.code,
      message: body.message,
      execution,
      source: body.source,
      now: iso(),
    });
    return { applied: true };
  };

  const failed = db.transaction((id: string, body: FailedBody): Transition => {
    const row = load(id);
    if (row.status === 'processed') {
      return { applied: false, reason: 'image is already processed; failure report ignored' };
    }
    // Every report names its generation: one from an older attempt (a late workflow backstop,
    // a slow processor) is STALE_GENERATION and cannot fail a newer one.
    checkGeneration(row, body.generation);
    if (row.status === 'failed') {
      const settled = againForFailed(id, body);
      if (settled) return settled;
    }
    const execution = body.execution ?? null;
    repos.images.markFailed(id, body.generation, body.code, execution, iso());
    repos.failedTasks.record({
      imageId: id,
      code: body.code,
      message: body.message,
      execution,
      source: body.source,
      now: iso(),
    });
    return { applied: true };
  });

  return { started, complete, failed };
}
