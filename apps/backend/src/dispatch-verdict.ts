/**
 * The relay's verdict on a failed dispatch attempt (outbox-relay.ts): try
 * again after a capped exponential backoff, or give up and fail the images.
 * The dispatcher says whether the service may take the request later
 * (`retryable`, packages/dispatch `toDispatchError`); this module only adds
 * the cap. docs/reliability.md, "Who retries what".
 */
import type { AppError } from '@slideshow/runtime';
import type { DispatchFailure } from './transitions/recovery.ts';

/** The parts of the relay's policy a verdict needs (RELAY_DEFAULTS). */
export interface RetryPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
  /** Attempts after which a dispatch that keeps failing is given up. */
  maxAttempts: number;
}

/** What to do after a failed attempt. */
export type DispatchVerdict =
  | { kind: 'retry'; delayMs: number }
  | { kind: 'give-up'; failure: DispatchFailure };

/** Backoff before attempt `attempts + 1`: capped exponential with ±20 % jitter. */
export function backoffMs(attempts: number, initialDelayMs: number, maxDelayMs: number): number {
  const base = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(attempts, 30));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/**
 * The verdict after attempt number `attempts` (1 for the first) failed with
 * `error`: a refusal the service will repeat is given up at once
 * (DISPATCH_REFUSED); a retryable failure is retried until `maxAttempts`,
 * then given up (DISPATCH_FAILED).
 */
export function judgeFailedDispatch(
  error: AppError,
  attempts: number,
  policy: RetryPolicy,
): DispatchVerdict {
  const cause = `${error.code}: ${error.message}`;
  if (!error.retryable) {
    return {
      kind: 'give-up',
      failure: {
        code: 'DISPATCH_REFUSED',
        message:
          `the queue service refused the dispatch, and would refuse it again (attempt ${attempts}): ${cause}`.slice(
            0,
            2000,
          ),
      },
    };
  }
  if (attempts >= policy.maxAttempts) {
    return {
      kind: 'give-up',
      failure: {
        code: 'DISPATCH_FAILED',
        message:
          `no task after ${attempts} attempts (the relay's cap); the last failed with ${cause}`.slice(
            0,
            2000,
          ),
      },
    };
  }
  return {
    kind: 'retry',
    delayMs: backoffMs(attempts - 1, policy.initialDelayMs, policy.maxDelayMs),
  };
}
