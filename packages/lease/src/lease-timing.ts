/**
 * The lease's timing policy, owned here: the defaults, the timing derived from
 * one TTL (`LEASE_TTL_MS`), and the check that a renewal which fails can be
 * retried before the holder's own deadline. Re-exported by lease.ts.
 */
import { AppError } from '@slideshow/runtime';

/** Timing of the lease. */
export interface LeaseTiming {
  /** How long a holder's write keeps the lease. */
  ttlMs: number;
  /** Safety margin on both sides (holder stops early, contender waits longer). */
  marginMs: number;
  /** Renewal period; well inside the TTL so a failed renewal is retried in time. */
  renewEveryMs: number;
  /** How often a contender reads the record. */
  pollEveryMs: number;
}

/** Defaults: 15 s TTL, renewed every 5 s; takeover of a dead holder after ≥ 17 s. */
export const DEFAULT_LEASE_TIMING: LeaseTiming = {
  ttlMs: 15_000,
  marginMs: 2_000,
  renewEveryMs: 5_000,
  pollEveryMs: 500,
};

/**
 * The defaults with `overrides` applied. Throws VALIDATION_FAILED when a renewal
 * that fails could not be retried before the holder stops counting itself valid.
 */
export function resolveLeaseTiming(overrides: Partial<LeaseTiming> | undefined): LeaseTiming {
  const timing: LeaseTiming = { ...DEFAULT_LEASE_TIMING, ...overrides };
  if (timing.renewEveryMs + timing.marginMs >= timing.ttlMs - timing.marginMs) {
    throw new AppError(
      'VALIDATION_FAILED',
      `lease timing leaves no room to retry a renewal: renewEveryMs (${timing.renewEveryMs}) + marginMs (${timing.marginMs}) must be below ttlMs (${timing.ttlMs}) − marginMs`,
    );
  }
  return timing;
}

/**
 * Timing derived from one TTL: renew every third of it (two renewals can fail
 * before the holder stops), a margin of 2/15 (2 s of 15 s) on both sides.
 */
export function leaseTimingFor(ttlMs: number): LeaseTiming {
  return {
    ttlMs,
    renewEveryMs: Math.round(ttlMs / 3),
    marginMs: Math.round((ttlMs * 2) / 15),
    pollEveryMs: Math.min(DEFAULT_LEASE_TIMING.pollEveryMs, Math.round(ttlMs / 10)),
  };
}
