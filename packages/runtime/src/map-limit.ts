/**
 * A bounded pool: `fn` over `items`, at most `limit` calls in flight, results
 * in the items' order. The one copy for code that needs nothing more (the
 * backend's reconcile check, for one); callers with their own bookkeeping
 * per item (the outbox relay's chunked commits, the imaging cost-ordered
 * pool) keep their own loops.
 */
import { coerceError } from './app-error.ts';

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
