/**
 * Cloud Tasks retry semantics as pure functions, from the RetryConfig
 * reference (https://cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues#retryconfig):
 *
 * "A task's retry interval starts at minBackoff, then doubles maxDoublings
 * times, then increases linearly, and finally retries at intervals of
 * maxBackoff up to maxAttempts times. For example, if minBackoff is 10s,
 * maxBackoff is 300s, and maxDoublings is 3, then the a task will first be
 * retried in 10s. The retry interval will double three times, and then
 * increase linearly by 2^3 * 10s. Finally, the task will retry at intervals of
 * maxBackoff until the task has been attempted maxAttempts times. Thus, the
 * requests will retry at 10s, 20s, 40s, 80s, 160s, 240s, 300s, 300s, ...."
 */

/** RetryConfig with durations already in milliseconds. */
export interface RetryPolicy {
  /** Total attempts including the first; -1 means unlimited. */
  maxAttempts: number;
  /** 0 means unlimited. */
  maxRetryDurationMs: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  maxDoublings: number;
}

/**
 * The delay before retry number `retry` (1 = the first retry, i.e. after the
 * first failed attempt), per the formula quoted above.
 */
export function backoffMs(policy: RetryPolicy, retry: number): number {
  const n = Math.max(1, retry) - 1;
  const { minBackoffMs, maxBackoffMs, maxDoublings } = policy;
  const doublings = Math.max(0, maxDoublings);
  const interval =
    n <= doublings
      ? minBackoffMs * 2 ** n
      : minBackoffMs * 2 ** doublings + (n - doublings) * 2 ** doublings * minBackoffMs;
  return Math.min(maxBackoffMs, interval);
}

/**
 * Whether a task that has been attempted `attempts` times, first at
 * `firstAttemptMs`, is given up. The reference: "Once maxRetryDuration time
 * has passed and the task has been attempted maxAttempts times, no further
 * attempts will be made and the task will be deleted" — both limits must be
 * reached when both are set; an unset (0 / -1) limit does not hold a task back.
 */
export function isExhausted(
  policy: RetryPolicy,
  attempts: number,
  firstAttemptMs: number,
  nowMs: number,
): boolean {
  const attemptsLimited = policy.maxAttempts >= 0;
  const durationLimited = policy.maxRetryDurationMs > 0;
  const attemptsReached = attemptsLimited && attempts >= policy.maxAttempts;
  const durationReached = durationLimited && nowMs - firstAttemptMs >= policy.maxRetryDurationMs;
  if (attemptsLimited && durationLimited) return attemptsReached && durationReached;
  if (attemptsLimited) return attemptsReached;
  if (durationLimited) return durationReached;
  return false;
}
