/**
 * Thread settings for sharp/libvips, applied on use (never at import), and a
 * small bounded-parallelism helper.
 *
 * sharp defaults libvips to 1 thread per image on glibc without jemalloc
 * (https://sharp.pixelplumbing.com/api-utility#concurrency) to limit malloc
 * arena fragmentation. We encode ENCODE_POOL variants at once, each
 * with LIBVIPS_THREADS threads; the split was measured on 2 cores (README).
 */
import { availableParallelism } from 'node:os';
import { coerceError } from '@slideshow/runtime';
import sharp from 'sharp';

/** libvips threads per pipeline. */
export const LIBVIPS_THREADS = Math.max(1, Math.min(2, availableParallelism()));

/**
 * How many variants are encoded at the same time, from one pool ordered
 * longest first: one more than the cores (so a core never idles while an
 * encode waits on memory or its output), within libuv's pool of 4.
 */
export const ENCODE_POOL = Math.max(2, Math.min(4, availableParallelism() + 1));

/**
 * Variant writes in flight at once after the never-larger rule. These writes wait for every
 * encode (the rule compares each variant with its wider siblings), so they are on the image's
 * critical path; a few at once overlap the store's round trips and fsyncs. The writes after the
 * encodes, one at a time → four at once (the processor on the folder store, medians of 5 and 9
 * tasks, 2026-12-07): 68 → 38 ms for a 12 MP photo, 26 → 16 ms for a 480 × 320 JPEG; all
 * fifteen at once gained 2–6 ms more.
 */
export const WRITES_AT_ONCE = 4;

/** Applies the thread settings (cheap; called at the start of every processImage). */
export function configureSharp(): void {
  if (sharp.concurrency() !== LIBVIPS_THREADS) sharp.concurrency(LIBVIPS_THREADS);
}

/** A unit of work for {@link runByCost}: its cost and readiness may change while others run. */
export interface CostedJob<R> {
  /** Relative cost, read each time a slot frees: the costliest ready job runs first. */
  cost(): number;
  /** A promise that settles when the job can run, or undefined when it can run now. */
  blocked(): Promise<unknown> | undefined;
  run(): Promise<R>;
}

/**
 * Runs `jobs` with at most `limit` in flight, always starting the costliest
 * job that is ready (so the long encodes start first and the short ones fill
 * the tail); a slot never waits on a blocked job while another is ready.
 * Rejects on the first failure (of a job or of what blocks one); results are
 * in the order of `jobs`.
 */
export async function runByCost<R>(jobs: readonly CostedJob<R>[], limit: number): Promise<R[]> {
  const results = new Array<R>(jobs.length);
  const pending = new Set(jobs.keys());
  let failed = false;
  const pick = (): number | undefined => {
    let best: number | undefined;
    let bestCost = Number.NEGATIVE_INFINITY;
    for (const index of pending) {
      const job = jobs[index] as CostedJob<R>;
      if (job.blocked() !== undefined) continue;
      const cost = job.cost();
      if (cost > bestCost) {
        best = index;
        bestCost = cost;
      }
    }
    if (best !== undefined) pending.delete(best);
    return best;
  };
  const worker = async (): Promise<void> => {
    // Each turn either runs a job or waits until a blocked one is released:
    // bounded by the number of jobs plus the number of releases.
    while (!failed && pending.size > 0) {
      const index = pick();
      if (index === undefined) {
        const waits = [...pending].map((i) => (jobs[i] as CostedJob<R>).blocked());
        await Promise.race(waits.map((w) => w ?? Promise.resolve()));
        continue;
      }
      try {
        results[index] = await (jobs[index] as CostedJob<R>).run();
      } catch (error) {
        failed = true;
        throw coerceError(error);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  } catch (error) {
    failed = true;
    throw coerceError(error);
  }
  return results;
}
