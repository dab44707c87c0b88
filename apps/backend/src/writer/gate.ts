/**
 * What the HTTP server answers around the single-writer lifecycle, and the
 * write admission the app's fence middleware asks:
 *
 * - `GET /readyz`: 200 only while this instance holds the lease, restored the
 *   database and serves (Cloud Run's startup probe, cloudbuild/backend.cloudbuild.yaml);
 *   503 `NOT_READY` with the reason otherwise.
 * - before the app exists (waiting for the lease, restoring): every other
 *   path answers 503 `NOT_READY` with `Retry-After`.
 * - writes (non-safe methods) are admitted only while `writable()`: the lease
 *   is held and no handover or shutdown began; refused ones answer 503
 *   `LEASE_NOT_HELD` (retryable). Admitted writes are counted so a handover
 *   can wait for them to finish.
 */
import { AppError } from '@slideshow/runtime';

/** Where the instance is in its life. */
export type WriterPhase = 'starting' | 'serving' | 'handing-over' | 'retired' | 'stopping';

/** A fetch handler (Hono's `app.fetch`). */
export type FetchHandler = (request: Request, env?: unknown) => Response | Promise<Response>;

/** Facts shown by /readyz. */
export type ReadinessFacts = Record<string, string | number | null>;

/** Options for {@link createGate}. */
export interface GateOptions {
  /** True while the lease is held (its monotonic deadline not passed). */
  leaseHeld: () => boolean;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
  });
}

/** The refusal of a write in `phase` (retryable: the next writer, or this one renewed, takes it). */
function leaseNotHeld(phase: WriterPhase): AppError {
  return new AppError(
    'LEASE_NOT_HELD',
    phase === 'serving'
      ? 'this instance could not renew the database lease in time; writes are refused: retry'
      : `this instance is ${phase} and does not accept writes: retry`,
    { retryable: true, context: { phase } },
  );
}

/** Creates the gate. */
export function createGate(options: GateOptions) {
  let phase: WriterPhase = 'starting';
  let reason = 'starting';
  let facts: ReadinessFacts = {};
  let app: FetchHandler | undefined;
  // Database writes (the fence in db/write-fence.ts) and HTTP write admission are
  // closed separately: a handover stops admitting requests first, lets admitted ones
  // and the relay finish their writes, and only then closes the database.
  let writesOpen = false;
  let inFlightWrites = 0;
  let drained: (() => void) | undefined;

  const writable = () => writesOpen && options.leaseHeld();
  const admitting = () => phase === 'serving' && writable();

  return {
    /** The server's fetch handler. */
    fetch(request: Request, env?: unknown): Response | Promise<Response> {
      const path = new URL(request.url).pathname;
      if (path === '/readyz') {
        return admitting()
          ? json(200, { ready: true, phase, ...facts })
          : json(503, { error: { code: 'NOT_READY', message: reason }, phase, ...facts });
      }
      if (!app) {
        return json(
          503,
          { error: { code: 'NOT_READY', message: reason }, phase },
          { 'retry-after': '2' },
        );
      }
      return app(request, env);
    },
    /** Sets the phase and the reason /readyz gives. */
    setPhase(next: WriterPhase, why: string, more: ReadinessFacts = {}) {
      phase = next;
      reason = why;
      facts = { ...facts, ...more };
    },
    /** Allows database writes from now on (once the lease is held; the app is served later). */
    openWrites() {
      writesOpen = true;
    },
    /** Refuses every database write from now on (before Litestream's final sync). */
    closeWrites() {
      writesOpen = false;
    },
    /** Starts serving `handler` and admitting writes. */
    serve(handler: FetchHandler, more: ReadinessFacts = {}) {
      app = handler;
      phase = 'serving';
      reason = 'serving';
      facts = { ...facts, ...more };
    },
    phase: () => phase,
    /** True while the database may be written. */
    writable,
    /** Throws LEASE_NOT_HELD unless the database may be written (db/write-fence.ts). */
    assertWritable() {
      if (writable()) return;
      throw leaseNotHeld(phase);
    },
    /** Runs an admitted write request, counted until it settles. */
    async admit<T>(run: () => Promise<T>): Promise<T> {
      if (!admitting()) {
        throw leaseNotHeld(phase);
      }
      inFlightWrites++;
      try {
        return await run();
      } finally {
        inFlightWrites--;
        if (inFlightWrites === 0) drained?.();
      }
    },
    /** Waits (bounded) until no admitted write request is running; returns how many still are. */
    async drainWrites(timeoutMs: number): Promise<number> {
      if (inFlightWrites === 0) return 0;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        new Promise<void>((resolve) => {
          drained = resolve;
        }),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      drained = undefined;
      return inFlightWrites;
    },
  };
}

/** The gate. */
export type Gate = ReturnType<typeof createGate>;
