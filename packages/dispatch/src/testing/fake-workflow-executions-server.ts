/**
 * A loopback server speaking the part of the Workflow Executions v1 REST API
 * the dispatchers use (https://cloud.google.com/workflows/docs/reference/executions/rest/v1/projects.locations.workflows.executions):
 * create, get, list (newest first, `labels.KEY="VALUE"` filters, BASIC/FULL
 * views, page tokens) and cancel. It runs nothing: tests move executions
 * between states with `setState`. It records requests and can inject failures.
 */
import { randomUUID } from 'node:crypto';
import type { Server, ServerResponse } from 'node:http';
import {
  closeServer,
  createJsonServer,
  listenOnLoopback,
  type RecordedRequest,
  sendGoogleError,
  sendJson,
  takeRequest,
} from './http-util.ts';

/** One request as the fake saw it. */
export type { RecordedRequest } from './http-util.ts';

/** An execution as stored (REST JSON shape). */
export interface FakeExecution {
  name: string;
  state: string;
  argument: string;
  labels: Record<string, string>;
  createTime: string;
  startTime: string;
  endTime?: string;
  error?: { payload: string; context?: string };
}

/** Options for {@link startFakeWorkflowExecutionsServer}. */
export interface FakeWorkflowExecutionsOptions {
  /** Apply `filter` on list (default true); false mimics a server that ignores it. */
  honourFilters?: boolean;
  /** List order (default newest first, as Google lists); oldest first mimics a simpler emulator. */
  listOrder?: 'newest-first' | 'oldest-first';
  /** When set, every call requires `Authorization: Bearer <requiredToken>` (401 otherwise), like local-cloud. */
  requiredToken?: string;
}

/** A running fake; `close()` it in `afterAll`. */
export interface FakeWorkflowExecutionsServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Executions in creation order. */
  readonly executions: FakeExecution[];
  /** Moves an execution to `state` (ending it unless ACTIVE/QUEUED), with an optional error payload. */
  setState(name: string, state: string, errorPayload?: string): void;
  /** Answers the next `times` requests with `status` (Google error JSON). */
  failNext(status: number, times?: number): void;
  reset(): void;
  close(): Promise<void>;
}

const EXECUTIONS_PATH =
  /^\/v1\/(projects\/[^/]+\/locations\/[^/]+\/workflows\/[^/]+)\/executions(?:\/([^/:]+)(:cancel)?)?$/;
const LABEL_FILTER = /^labels\.([a-z][a-z0-9_-]*)\s*=\s*"([^"]*)"$/;
/** ExecutionView: 1 BASIC, 2 FULL (numeric when the client asks for enum-encoding=int). */
const FULL_VIEWS = new Set(['FULL', '2']);

function basicView(execution: FakeExecution): Partial<FakeExecution> {
  // BASIC returns name, start/end time, state (and duration, revision), not the argument.
  const { argument: _argument, labels: _labels, error: _error, ...rest } = execution;
  return rest;
}

/** Answers 401 as Google words it unless `authorization` carries `requiredToken` (when one is required). */
function authorised(
  authorization: string | undefined,
  requiredToken: string | undefined,
  res: ServerResponse,
): boolean {
  if (requiredToken === undefined) return true;
  if (authorization === undefined) {
    sendGoogleError(res, 401, 'Request is missing required authentication credential.');
    return false;
  }
  if (authorization !== `Bearer ${requiredToken}`) {
    sendGoogleError(res, 401, 'Request had invalid authentication credentials.');
    return false;
  }
  return true;
}

/** executions.list over `list` (in answer order): a label `filter`, `pageSize`/`pageToken` paging, the BASIC or FULL view. */
function listExecutions(
  res: ServerResponse,
  url: URL,
  list: FakeExecution[],
  how: { honourFilters: boolean },
): void {
  const filter = url.searchParams.get('filter');
  if (filter && how.honourFilters) {
    const label = LABEL_FILTER.exec(filter);
    if (!label) {
      sendGoogleError(res, 400, `unsupported filter ${filter}`);
      return;
    }
    list = list.filter((e) => e.labels[label[1] as string] === label[2]);
  }
  const pageSize = Math.min(Number(url.searchParams.get('pageSize') || 100), 1000);
  const offset = Number(url.searchParams.get('pageToken') || 0);
  const page = list.slice(offset, offset + pageSize);
  const full = FULL_VIEWS.has(url.searchParams.get('view') ?? '');
  const next = offset + pageSize < list.length ? String(offset + pageSize) : undefined;
  sendJson(res, 200, {
    executions: page.map((e) => (full ? e : basicView(e))),
    ...(next === undefined ? {} : { nextPageToken: next }),
  });
}

/** executions.create: the new ACTIVE execution (also answered), or undefined after a 400. */
function newExecution(
  res: ServerResponse,
  parent: string,
  body: unknown,
  time: string,
): FakeExecution | undefined {
  const input = (body ?? {}) as { argument?: unknown; labels?: unknown };
  if (input.argument !== undefined && typeof input.argument !== 'string') {
    sendGoogleError(res, 400, 'argument must be a JSON string');
    return undefined;
  }
  const execution: FakeExecution = {
    name: `${parent}/executions/${randomUUID()}`,
    state: 'ACTIVE',
    argument: input.argument ?? '',
    labels: (input.labels as Record<string, string> | undefined) ?? {},
    createTime: time,
    startTime: time,
  };
  sendJson(res, 200, execution);
  return execution;
}

/** Starts the fake on 127.0.0.1 with an OS-chosen port. */
export async function startFakeWorkflowExecutionsServer(
  options: FakeWorkflowExecutionsOptions = {},
): Promise<FakeWorkflowExecutionsServer> {
  const honourFilters = options.honourFilters ?? true;
  const requests: RecordedRequest[] = [];
  const executions: FakeExecution[] = [];
  const failures: number[] = [];
  let clock = Date.now();
  // Strictly increasing timestamps so "newest first" is well defined within one millisecond.
  const now = () => {
    clock = Math.max(clock + 1, Date.now());
    return new Date(clock).toISOString();
  };

  const server: Server = createJsonServer(async (req, res) => {
    const taken = await takeRequest(req, res, requests, failures);
    if (!taken) return;
    const { url, method, body } = taken;
    const match = EXECUTIONS_PATH.exec(url.pathname);
    if (!match) {
      sendGoogleError(res, 404, `unknown path ${url.pathname}`);
      return;
    }
    const parent = match[1] as string;
    const id = match[2];
    if (!authorised(req.headers.authorization, options.requiredToken, res)) return;
    if (method === 'POST' && id === undefined) {
      const execution = newExecution(res, parent, body, now());
      if (execution) executions.push(execution);
      return;
    }
    if (method === 'GET' && id === undefined) {
      const all = executions.filter((e) => e.name.startsWith(`${parent}/executions/`));
      listExecutions(res, url, options.listOrder === 'oldest-first' ? all : all.reverse(), {
        honourFilters,
      });
      return;
    }
    const name = `${parent}/executions/${id}`;
    const execution = executions.find((e) => e.name === name);
    if (execution === undefined) {
      sendGoogleError(res, 404, `execution ${name} not found`);
      return;
    }
    if (method === 'GET') {
      sendJson(res, 200, execution);
      return;
    }
    if (method === 'POST' && match[3] === ':cancel') {
      if (execution.state === 'ACTIVE' || execution.state === 'QUEUED') {
        execution.state = 'CANCELLED';
        execution.endTime = now();
      }
      sendJson(res, 200, execution);
      return;
    }
    sendGoogleError(res, 404, `unsupported ${method} ${url.pathname}`);
  });

  const url = await listenOnLoopback(server);
  return {
    url,
    requests,
    executions,
    setState(name, state, errorPayload) {
      const execution = executions.find((e) => e.name === name);
      if (execution === undefined) throw new Error(`no execution ${name}`);
      execution.state = state;
      if (state !== 'ACTIVE' && state !== 'QUEUED') execution.endTime = now();
      if (errorPayload !== undefined) execution.error = { payload: errorPayload };
    },
    failNext(status, times = 1) {
      for (let i = 0; i < times; i += 1) failures.push(status);
    },
    reset() {
      requests.length = 0;
      executions.length = 0;
      failures.length = 0;
    },
    close: () => closeServer(server),
  };
}
