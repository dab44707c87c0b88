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

/** Applies the thread settings (cheap; called at the start of every processImage). */
export function configureSharp(): void {
  if (sharp.concurrency() !== LIBVIPS_THREADS) sharp.concurrency(LIBVIPS_THREADS);
}

/** Runs `fn` over `items` with at most `limit` calls in flight; rejects on the first failure. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index] as T, index);
      } catch (error) {
        failed = true;
        throw coerceError(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
