/**
 * The login limiter: a budget of failed password checks per client, with
 * exponential backoff, in memory (one Cloud Run instance guards the form).
 *
 * It cannot be turned against the admin: there is no shared budget that one
 * client can spend for everyone, a request refused with 429 spends nothing
 * (the password is not checked), and a client is either one address (an IPv6
 * /64) or one login-device cookie (auth/login-device.ts) — so the admin's
 * browser, which has that cookie from an earlier login, keeps its own budget
 * even behind the same address as an attacker. A success clears the client's
 * failures. OWASP Authentication Cheat Sheet, "Login Throttling", and its
 * "device cookies" proposal for the lockout problem.
 *
 * Waits are measured on a monotonic clock (`performance.now`), never the wall
 * clock: with the wall clock, one failed login followed by a step back of the
 * clock (NTP, a VM resumed) locked the admin out for the size of the step —
 * "try again in 3899 s" after a 1 h step, past the 15 min maximum.
 */

/** The limiter's policy: one typed defaults object. */
export const LOGIN_LIMITER_DEFAULTS = {
  /** Failed attempts a client may make before it has to wait. */
  freeFailures: 5,
  /** Wait after the last free failure; it doubles with each further failure. */
  baseDelayMs: 60_000,
  /** Longest wait. */
  maxDelayMs: 15 * 60_000,
  /** A client's failures are forgotten this long after its last one. */
  forgetAfterMs: 60 * 60_000,
  /** Most clients remembered at once; the oldest are forgotten first (bounded memory). */
  maxClients: 10_000,
};

/** The policy type. */
export type LoginLimiterSettings = typeof LOGIN_LIMITER_DEFAULTS;

/** Options for {@link createRateLimiter}. */
export interface RateLimitOptions {
  /** Milliseconds on a clock that never steps; default `performance.now`. */
  monotonicNow?: () => number;
  limits?: Partial<LoginLimiterSettings>;
}

interface Entry {
  failures: number;
  last: number;
}

/** Creates the limiter. */
export function createRateLimiter(options: RateLimitOptions) {
  const limits = { ...LOGIN_LIMITER_DEFAULTS, ...options.limits };
  const clock = options.monotonicNow ?? (() => performance.now());
  const clients = new Map<string, Entry>();

  const delayAfter = (failures: number) =>
    failures < limits.freeFailures
      ? 0
      : Math.min(limits.maxDelayMs, limits.baseDelayMs * 2 ** (failures - limits.freeFailures));

  const forgetOld = (now: number) => {
    for (const [key, entry] of clients) {
      if (now - entry.last >= limits.forgetAfterMs) clients.delete(key);
    }
    // Still full: forget the least recently failed (Map order is insertion order, and an
    // entry is re-inserted on every failure).
    for (const key of clients.keys()) {
      if (clients.size < limits.maxClients) break;
      clients.delete(key);
    }
  };

  return {
    /**
     * Starts one password check for `client`: 0 when it may proceed (the
     * attempt counts as a failure until {@link succeeded} clears it, so parallel
     * guesses cannot overrun the budget), else the seconds to wait, and nothing
     * is counted.
     */
    take(client: string): number {
      const now = clock();
      let entry = clients.get(client);
      if (entry && now - entry.last >= limits.forgetAfterMs) entry = undefined;
      if (entry) {
        const waitMs = entry.last + delayAfter(entry.failures) - now;
        if (waitMs > 0) return Math.ceil(waitMs / 1000);
      }
      if (!entry && clients.size >= limits.maxClients) forgetOld(now);
      clients.delete(client);
      clients.set(client, { failures: (entry?.failures ?? 0) + 1, last: now });
      return 0;
    },
    /** The check passed: the client's failures are forgotten. */
    succeeded(client: string): void {
      clients.delete(client);
    },
    /** How many clients are remembered (for tests of the memory bound). */
    size: () => clients.size,
  };
}

/** The limiter type. */
export type RateLimiter = ReturnType<typeof createRateLimiter>;
