import { setTimeout as sleep } from 'node:timers/promises';
import { coerceError } from './app-error.ts';

/** Options for {@link retryWithBackoff}. */
export interface RetryOptions {
  /** Give up after this much time in total (ms). */
  deadlineMs: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  signal?: AbortSignal;
  /** Called before each wait, for logging. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Which errors to retry; by default AppError.retryable. */
  shouldRetry?: (error: unknown) => boolean;
  /** Milliseconds on a clock that never steps, which the deadline is measured on; default `performance.now`. */
  monotonicNow?: () => number;
}

/**
 * Runs `fn` until it succeeds, a non-retryable error is thrown, or the deadline
 * passes. Delays grow exponentially with full jitter (AWS Architecture Blog,
 * "Exponential Backoff And Jitter"), so many clients retrying at once spread out.
 * The deadline is a duration, measured on a monotonic clock: a wall clock set
 * back (NTP, a VM resumed) would otherwise stretch it by the size of the step.
 */
export async function retryWithBackoff<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const clock = options.monotonicNow ?? (() => performance.now());
  const start = clock();
  const initial = options.initialDelayMs ?? 200;
  const max = options.maxDelayMs ?? 5_000;
  const shouldRetry = options.shouldRetry ?? ((e: unknown) => coerceError(e).retryable);
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      const remaining = options.deadlineMs - (clock() - start);
      if (!shouldRetry(error) || remaining <= 0 || options.signal?.aborted) throw error;
      const delay = Math.min(remaining, Math.random() * Math.min(max, initial * 2 ** attempt));
      options.onRetry?.(error, attempt, delay);
      await sleep(delay, undefined, options.signal ? { signal: options.signal } : undefined);
    }
  }
}
