/**
 * Node's HTTP server limits, set deliberately (README "Limits and timeouts"),
 * shared by main.ts and the test harness: `headersTimeout` and
 * `requestTimeout` answer 408 and close a slow-loris connection; Node only
 * checks them every `connectionsCheckingInterval` (30 s by default), so the
 * check runs at least every 2 s. An answer sent before its request's body
 * has fully arrived says `Connection: close` (closing-response.ts).
 */
import type { ServerOptions } from 'node:http';
import { ClosingWhenBodyUnread } from './closing-response.ts';

/** The timeouts to apply. */
export interface ServerTimeouts {
  /** Longest time to receive one whole request. */
  requestTimeoutMs: number;
  /** Longest time to receive the request line and headers. */
  headersTimeoutMs: number;
}

/** Defaults: 15 min for a whole request (a 200 MB upload at ~2 Mbit/s), 20 s for headers. */
export const DEFAULT_SERVER_TIMEOUTS: ServerTimeouts = {
  requestTimeoutMs: 15 * 60_000,
  headersTimeoutMs: 20_000,
};

/** `http.createServer` options for the given timeouts. */
export function serverOptions(timeouts: ServerTimeouts): ServerOptions {
  const headersTimeout = Math.min(timeouts.headersTimeoutMs, timeouts.requestTimeoutMs);
  return {
    headersTimeout,
    requestTimeout: timeouts.requestTimeoutMs,
    connectionsCheckingInterval: Math.min(2_000, Math.ceil(headersTimeout / 2)),
    // Node's default; stated so a change is deliberate (Cloud Run's front end reuses connections).
    keepAliveTimeout: 5_000,
    // Node's default (16 KiB): a larger header block answers 431.
    maxHeaderSize: 16 * 1024,
    ServerResponse: ClosingWhenBodyUnread,
  };
}
