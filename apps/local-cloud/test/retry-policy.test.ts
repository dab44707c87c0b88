import { describe, expect, it } from 'vitest';
import { backoffMs, isExhausted, type RetryPolicy } from '../src/tasks/retry-policy.ts';
import { defaultBurst, fullBucket, msUntilToken, refill } from '../src/tasks/token-bucket.ts';

// The worked example of the RetryConfig reference
// (https://cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues#retryconfig):
// minBackoff 10s, maxBackoff 300s, maxDoublings 3 → retries at 10s, 20s, 40s, 80s, 160s, 240s, 300s, 300s.
const docExample: RetryPolicy = {
  maxAttempts: 100,
  maxRetryDurationMs: 0,
  minBackoffMs: 10_000,
  maxBackoffMs: 300_000,
  maxDoublings: 3,
};

describe('Cloud Tasks backoff', () => {
  it('reproduces the sequence from Google’s RetryConfig documentation', () => {
    const seconds = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffMs(docExample, n) / 1000);
    expect(seconds).toEqual([10, 20, 40, 80, 160, 240, 300, 300]);
  });

  it('grows linearly from the start when maxDoublings is 0', () => {
    const policy = { ...docExample, maxDoublings: 0, maxBackoffMs: 1_000_000 };
    expect([1, 2, 3, 4].map((n) => backoffMs(policy, n) / 1000)).toEqual([10, 20, 30, 40]);
  });

  it('keeps doubling up to maxBackoff with Google’s default of 16 doublings', () => {
    const policy = { ...docExample, minBackoffMs: 100, maxBackoffMs: 3_600_000, maxDoublings: 16 };
    expect([1, 2, 3, 10].map((n) => backoffMs(policy, n))).toEqual([100, 200, 400, 51_200]);
    expect(backoffMs(policy, 30)).toBe(3_600_000);
  });
});

describe('Cloud Tasks give-up rule', () => {
  it('gives up after maxAttempts attempts when no retry duration is set', () => {
    const policy = { ...docExample, maxAttempts: 3 };
    expect(isExhausted(policy, 2, 0, 1)).toBe(false);
    expect(isExhausted(policy, 3, 0, 1)).toBe(true);
  });

  it('never gives up with maxAttempts -1 and no retry duration', () => {
    expect(isExhausted({ ...docExample, maxAttempts: -1 }, 10_000, 0, 1e12)).toBe(false);
  });

  it('needs both limits reached when maxAttempts and maxRetryDuration are set', () => {
    const policy = { ...docExample, maxAttempts: 3, maxRetryDurationMs: 60_000 };
    expect(isExhausted(policy, 5, 0, 30_000)).toBe(false);
    expect(isExhausted(policy, 2, 0, 90_000)).toBe(false);
    expect(isExhausted(policy, 3, 0, 60_000)).toBe(true);
  });

  it('stops on the retry duration alone when attempts are unlimited', () => {
    const policy = { ...docExample, maxAttempts: -1, maxRetryDurationMs: 60_000 };
    expect(isExhausted(policy, 50, 0, 59_999)).toBe(false);
    expect(isExhausted(policy, 50, 0, 60_000)).toBe(true);
  });
});

describe('token bucket', () => {
  it('allows a burst, then refills at the dispatch rate', () => {
    let bucket = fullBucket(2, 0);
    expect(bucket.tokens).toBe(2);
    bucket = { ...bucket, tokens: 0 };
    expect(msUntilToken(bucket, 4)).toBe(250);
    bucket = refill(bucket, 500, 4, 2);
    expect(bucket.tokens).toBe(2);
    expect(refill(bucket, 10_000, 4, 2).tokens).toBe(2);
  });

  it('picks a burst of 100 for the default 500 dispatches per second, and at least 1', () => {
    expect(defaultBurst(500)).toBe(100);
    expect(defaultBurst(0.5)).toBe(1);
  });
});
