/**
 * A fixed-window counter per key (e.g. client IP) plus a global window, in
 * memory: enough for one Cloud Run instance guarding the login form. The
 * global window is the backstop when a client rotates its apparent address.
 */

/** Options for {@link createRateLimiter}. */
export interface RateLimitOptions {
  perKey: number;
  global: number;
  windowMs: number;
  now: () => number;
}

/** Creates the limiter; `take(key)` answers 0 when allowed, else seconds to wait. */
export function createRateLimiter(options: RateLimitOptions) {
  const windows = new Map<string, { start: number; count: number }>();
  const hit = (key: string, limit: number, now: number): number => {
    const w = windows.get(key);
    if (!w || now - w.start >= options.windowMs) {
      windows.set(key, { start: now, count: 1 });
      return 0;
    }
    if (w.count >= limit) return Math.ceil((w.start + options.windowMs - now) / 1000);
    w.count++;
    return 0;
  };
  return {
    /** Counts one attempt; returns the Retry-After seconds when over a limit, else 0. */
    take(key: string): number {
      const now = options.now();
      if (windows.size > 10_000) {
        for (const [k, w] of windows) if (now - w.start >= options.windowMs) windows.delete(k);
      }
      const retryGlobal = hit('*', options.global, now);
      if (retryGlobal > 0) return retryGlobal;
      return hit(`ip:${key}`, options.perKey, now);
    },
  };
}

/** The limiter type. */
export type RateLimiter = ReturnType<typeof createRateLimiter>;
