/**
 * What the HTTP server answers around the single-writer lifecycle, and the
 * write admission the app's fence middleware asks:
 *
 * - `GET /readyz`: 200 only while this instance holds the lease, restored the
 *   database and serves (Cloud Run's startup probe, cloudbuild/backend.cloudbuild.yaml);
 *   503 `NOT_READY` with the reason otherwise; GET and HEAD only (405 otherwise).
 * - before the app exists (waiting for the lease, restoring): every other
 *   path answers 503 `NOT_READY` with `Retry-After`.
 * - every answer here is an app answer's shape: the error body is `ErrorAnswer` with a
 *   request id, with `X-Request-Id`, `nosniff` and `no-store`.
 * - what the answers tell besides ready or not is `detail` (readinessDetailFor):
 *   locally everything — the phase's reason (a handover's names its successor) and
 *   the lease's facts (its owner names the machine and the pid; the epochs) — behind
 *   the app's Host rule (auth/host-guard.ts, passed in as `hostCheck`), which comes
 *   first: a DNS-rebound page is same-origin with the backend. Refused: 403
 *   `FORBIDDEN`, nothing else. In production only the phase: a Cloud Run service
 *   answers anyone, and its startup probe reads only the status.
 * - writes (non-safe methods) are admitted only while `writable()`: the lease
 *   is held and no handover or shutdown began; refused ones answer 503
 *   `LEASE_NOT_HELD` (retryable). Admitted writes are counted so a handover
 *   can wait for them to finish.
 */
import type { NotReadyAnswer, ReadyAnswer, WriterPhase } from '@slideshow/contracts';
import { AppError } from '@slideshow/runtime';
import type { HostCheck } from '../auth/host-guard.ts';
import { errorBody, requestIdFor, statusFor } from '../http-errors.ts';

/** Where the instance is in its life (the contracts' `WriterPhase`, which /readyz names). */
export type { WriterPhase };

/** A fetch handler (Hono's `app.fetch`). */
export type FetchHandler = (request: Request, env?: unknown) => Response | Promise<Response>;

/** Facts shown by /readyz. */
export type ReadinessFacts = Record<string, string | number | null>;

/**
 * What the gate's answers tell besides ready or not: `full`, the phase's reason and the
 * lease's facts; `phase`, the phase alone.
 */
export type ReadinessDetail = 'full' | 'phase';

/**
 * The detail for a mode: `full` locally, where the developer and the stack's tools read the
 * lease's owner and epochs (the Host rule keeps rebound pages out); `phase` in production,
 * where a Cloud Run service is public unless restricted: anyone could read the owner (the
 * host name, the pid) and the epochs, and the startup probe needs only the status.
 */
export function readinessDetailFor(mode: 'local' | 'production'): ReadinessDetail {
  return mode === 'local' ? 'full' : 'phase';
}

/** Options for {@link createGate}. */
export interface GateOptions {
  /** True while the lease is held (its monotonic deadline not passed). */
  leaseHeld: () => boolean;
  /** What the answers tell besides ready or not ({@link readinessDetailFor}). */
  detail: ReadinessDetail;
  /** Headers every answer of the gate's own carries besides the app's usual ones (HSTS in production). */
  headers?: Readonly<Record<string, string>>;
  /** The app's Host rule, applied before the gate's own answers (local mode; `hostCheckFor`). */
  hostCheck?: HostCheck;
}

/**
 * A JSON answer of the gate, with the headers the app's answers carry (app.ts): the request
 * id (the caller's safe `X-Request-Id`, else a new one), `nosniff`, and `no-store`.
 */
function json(
  status: number,
  body: unknown,
  requestId: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'x-request-id': requestId,
      'x-content-type-options': 'nosniff',
      ...headers,
    },
  });
}

/** The error answer of `error` (`ErrorAnswer`, as the app's), with `more` beside `error`. */
function refusal(
  request: Request,
  error: AppError,
  more: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  const requestId = requestIdFor(request.headers.get('x-request-id'));
  const body = { ...errorBody(error, requestId), ...more };
  return json(statusFor(error.code), body, requestId, headers);
}

/** `/readyz` is read, never written (Cloud Run's probe GETs it); HEAD wherever GET is (app.ts). */
const READYZ_METHODS = ['GET', 'HEAD'];

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

/** What the gate says of its state: the phase always, the reason and the facts with `full` detail. */
interface Told {
  phase: WriterPhase;
  reason: string;
  facts: ReadinessFacts;
}

/** The answer of `/readyz`: 200 when `ready`, else 503 NOT_READY with the reason; both with the phase and the facts. */
function readiness(request: Request, ready: boolean, told: Told): Response {
  if (!READYZ_METHODS.includes(request.method)) {
    const refused = new AppError(
      'METHOD_NOT_ALLOWED',
      `${request.method} is not allowed on /readyz; it takes ${READYZ_METHODS.join(', ')}`,
    );
    return refusal(request, refused, {}, { allow: READYZ_METHODS.join(', ') });
  }
  if (!ready) {
    const shown: Omit<NotReadyAnswer, 'error'> = { phase: told.phase };
    return refusal(request, new AppError('NOT_READY', told.reason), { ...shown, ...told.facts });
  }
  const answer: ReadyAnswer = { ready: true, phase: 'serving' };
  return json(200, { ...answer, ...told.facts }, requestIdFor(request.headers.get('x-request-id')));
}

/**
 * The gate's own answer to `request`: the Host rule's refusal, `/readyz`, or, while the app is
 * not served, 503 NOT_READY for every other path.
 */
function ownAnswer(
  request: Request,
  hostCheck: HostCheck | undefined,
  ready: boolean,
  told: Told,
): Response {
  const refused = hostCheck?.(request);
  if (refused) return refusal(request, refused);
  if (new URL(request.url).pathname === '/readyz') return readiness(request, ready, told);
  const refusedNow = new AppError('NOT_READY', told.reason);
  return refusal(request, refusedNow, { phase: told.phase }, { 'retry-after': '2' });
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
  const withOwnHeaders = (response: Response) => {
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      response.headers.set(name, value);
    }
    return response;
  };
  const admitting = () => phase === 'serving' && writable();
  const told = (): Told =>
    options.detail === 'full'
      ? { phase, reason, facts }
      : { phase, reason: `this instance is not ready (${phase})`, facts: {} };

  return {
    /** The server's fetch handler. */
    fetch(request: Request, env?: unknown): Response | Promise<Response> {
      const path = new URL(request.url).pathname;
      if (app && path !== '/readyz') return app(request, env);
      // The app checks its own requests; these answers are the gate's.
      return withOwnHeaders(ownAnswer(request, options.hostCheck, admitting(), told()));
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
