/**
 * The token bucket behind RateLimits.maxDispatchesPerSecond / maxBurstSize
 * (https://cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues#ratelimits):
 * tokens refill at the dispatch rate up to the burst size; each dispatch takes one.
 */

/** Bucket state: current tokens and when they were last refilled. */
export interface TokenBucket {
  tokens: number;
  updatedMs: number;
}

/** A full bucket at `nowMs`. */
export function fullBucket(burst: number, nowMs: number): TokenBucket {
  return { tokens: burst, updatedMs: nowMs };
}

/** The bucket refilled up to `nowMs` at `ratePerSecond`, capped at `burst`. */
export function refill(
  bucket: TokenBucket,
  nowMs: number,
  ratePerSecond: number,
  burst: number,
): TokenBucket {
  const elapsed = Math.max(0, nowMs - bucket.updatedMs);
  return {
    tokens: Math.min(burst, bucket.tokens + (elapsed / 1000) * ratePerSecond),
    updatedMs: nowMs,
  };
}

/** Milliseconds until the bucket holds one whole token (0 when it does). */
export function msUntilToken(bucket: TokenBucket, ratePerSecond: number): number {
  if (bucket.tokens >= 1) return 0;
  if (ratePerSecond <= 0) return Number.POSITIVE_INFINITY;
  return Math.ceil(((1 - bucket.tokens) / ratePerSecond) * 1000);
}

/**
 * The burst size Google picks for a rate (maxBurstSize is output only in v2).
 * Google does not publish the formula; a queue at the default 500/s reports
 * 100, so we use rate / 5 rounded up, between 1 and 100.
 */
export function defaultBurst(ratePerSecond: number): number {
  return Math.max(1, Math.min(100, Math.ceil(ratePerSecond / 5)));
}
