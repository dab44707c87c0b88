/**
 * A loopback stand-in for the backend's admin API, speaking its wire shape
 * (as apps/backend/src/routes/admin-images.ts answers it)
 * (`GET /api/admin/failed-tasks`, `POST /api/admin/images/:id/retry`, bearer
 * token), with in-memory failed tasks and a log of requests.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A failed_tasks row as seeded (sqlite3 column names); served camelCase like the backend. */
export interface WireFailedTask {
  image_id: string;
  error_code: string;
  error_message: string;
  attempt_count: number;
  last_attempt: string;
  source: string;
  execution: string | null;
  created_at: string;
  resolved_at: string | null;
  /** The backend's `retryable` (false for a failed regeneration's row); true when left out. */
  retryable?: boolean;
}

/** A request the server saw. */
export interface SeenRequest {
  method: string;
  url: string;
  authorization: string | undefined;
}

/** The running fake. */
export interface AdminServer {
  url: string;
  token: string;
  requests: SeenRequest[];
  rows: WireFailedTask[];
  /** Image ids whose retry answers this status instead of 202. */
  retryStatus: Map<string, number>;
  /** Answers like a backend from before `limit`: its default page, and no `limit` in the answer. */
  legacy: { ignoresLimit: boolean };
  /** How many of the next requests answer 503 LEASE_NOT_HELD, as a backend does during a handover. */
  handover: { requests: number };
  /**
   * `active`: a regeneration start answers 409 CONFLICT, as while a run is
   * active; `inFlight`: the run's images already dispatched, as every answer
   * about the run counts them.
   */
  regeneration: { active: boolean; inFlight: number };
  close(): Promise<void>;
}

/** Builds a failed_tasks row with defaults. */
export function failedTask(imageId: string, code: string, lastAttempt: string): WireFailedTask {
  return {
    image_id: imageId,
    error_code: code,
    error_message: `${code} for ${imageId}`,
    attempt_count: 4,
    last_attempt: lastAttempt,
    source: 'processor',
    execution: `processor-${imageId}`,
    created_at: lastAttempt,
    resolved_at: null,
  };
}

function send(res: import('node:http').ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** The backend's failedTaskView: camelCase names of the same columns. */
function failedTaskView(r: WireFailedTask) {
  return {
    imageId: r.image_id,
    errorCode: r.error_code,
    errorMessage: r.error_message,
    attemptCount: r.attempt_count,
    lastAttempt: r.last_attempt,
    execution: r.execution,
    source: r.source,
    createdAt: r.created_at,
    resolvedAt: r.resolved_at,
    retryable: r.retryable ?? true,
  };
}

/** Run 3 as the backend answers it (the contract's RegenRun), with `inFlight` images dispatched. */
function regenRun(status: string, inFlight: number) {
  return {
    id: 3,
    status,
    reason: status === 'running' ? null : `${status} by an admin`,
    preset: 'web-v3',
    presetVersion: '0123456789abcdef',
    filter: {},
    total: inFlight + 10,
    done: 10,
    failed: 0,
    cancelled: 0,
    inFlight,
    remaining: inFlight,
    executions: inFlight + 10,
    caps: { executionsPerRun: 10_000, failures: 50, executionsPerHour: 5_000 },
    etaSeconds: null,
    estimate: { cpuSeconds: 1, costUsd: 0.001 },
    measured: { images: 10, cpuSeconds: 1, costUsd: 0.001 },
    createdAt: '2026-11-22T10:00:00.000Z',
    finishedAt: status === 'cancelled' ? '2026-11-22T10:05:00.000Z' : null,
  };
}

/**
 * The routes of scripts/regenerate and scripts/reconcile (docs/operations.md): true when
 * `method path` is one of them and was answered.
 */
function answerOpsRoute(
  method: string,
  path: string,
  res: import('node:http').ServerResponse,
  regeneration: { active: boolean; inFlight: number },
): boolean {
  // scripts/regenerate (docs/operations.md): the routes answer a run, or a dry run.
  if (path === '/api/admin/regenerate' || path.startsWith('/api/admin/regenerate/')) {
    const start = method === 'POST' && path === '/api/admin/regenerate';
    if (start && regeneration.active) {
      send(res, 409, {
        error: { code: 'CONFLICT', message: 'run 3 is running', requestId: 'r' },
      });
      return true;
    }
    const action = /\/(pause|cancel)$/.exec(path)?.[1];
    const status = { pause: 'paused', cancel: 'cancelled' }[action ?? ''] ?? 'running';
    send(res, start ? 202 : 200, { run: regenRun(status, regeneration.inFlight) });
    return true;
  }
  // scripts/reconcile (docs/operations.md, "After a restore"): one batch, nothing found.
  if (method === 'POST' && path === '/api/admin/reconcile/variants') {
    send(res, 200, { dryRun: true, checked: 0, findings: [], failed: 0, next: null });
    return true;
  }
  if (method === 'GET' && path === '/api/admin/reconcile/originals') {
    send(res, 200, { originals: [], scanned: 0, next: null });
    return true;
  }
  return false;
}

/** Starts the fake on 127.0.0.1 with an OS-chosen port. */
export async function startAdminServer(rows: WireFailedTask[]): Promise<AdminServer> {
  const token = 'test-admin-token';
  const state = {
    requests: [] as SeenRequest[],
    rows,
    retryStatus: new Map<string, number>(),
    legacy: { ignoresLimit: false },
    handover: { requests: 0 },
    regeneration: { active: false, inFlight: 0 },
  };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    state.requests.push({
      method: req.method ?? '',
      url: `${url.pathname}${url.search}`,
      authorization: req.headers.authorization,
    });
    if (state.handover.requests > 0) {
      state.handover.requests--;
      send(res, 503, {
        error: {
          code: 'LEASE_NOT_HELD',
          message: 'this instance is not the writer',
          requestId: 'r',
        },
      });
      return;
    }
    if (req.headers.authorization !== `Bearer ${token}`) {
      send(res, 401, { error: { code: 'UNAUTHENTICATED', message: 'bad token', requestId: 'r' } });
      return;
    }
    if (req.method === 'GET' && url.pathname === '/api/admin/failed-tasks') {
      const since = url.searchParams.get('since');
      const code = url.searchParams.get('code');
      const unresolved = url.searchParams.get('unresolved') === 'true';
      // The backend's page: 500 rows unless `limit` (at most 10,000) asks for more.
      const limit = state.legacy.ignoresLimit
        ? 500
        : Math.min(Number(url.searchParams.get('limit') ?? 500), 10_000);
      const listed = state.rows.filter(
        (r) =>
          (!since || (r.last_attempt ?? '') >= since) &&
          (!code || r.error_code === code) &&
          (!unresolved || r.resolved_at === null),
      );
      const failedTasks = listed.slice(0, limit);
      send(res, 200, {
        failedTasks: failedTasks.map(failedTaskView),
        ...(state.legacy.ignoresLimit ? {} : { limit }),
      });
      return;
    }
    const retry = /^\/api\/admin\/images\/([^/]+)\/retry$/.exec(url.pathname);
    if (req.method === 'POST' && retry) {
      const id = decodeURIComponent(retry[1] ?? '');
      const status = state.retryStatus.get(id) ?? 202;
      if (status !== 202) {
        send(res, status, {
          error: { code: 'CONFLICT', message: `cannot retry ${id}`, requestId: 'r' },
        });
        return;
      }
      const row = state.rows.find((r) => r.image_id === id);
      if (row) row.resolved_at = new Date().toISOString();
      send(res, 202, { image: { id, status: 'queued' } });
      return;
    }
    if (answerOpsRoute(req.method ?? '', url.pathname, res, state.regeneration)) return;
    send(res, 404, { error: { code: 'NOT_FOUND', message: 'no route', requestId: 'r' } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    ...state,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
