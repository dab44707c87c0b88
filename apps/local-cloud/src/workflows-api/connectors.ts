/**
 * Workflows connectors for the APIs local-cloud serves, sent in process to its
 * own REST routes with the local OAuth token (Google's connectors call the
 * APIs as the workflow's service account):
 * - googleapis.workflowexecutions.v1.projects.locations.workflows.executions.{create,get,list,cancel}
 *   and the `run` helper, which "starts a workflow execution and waits for it
 *   to finish", returns the execution's result JSON-decoded, and returns
 *   nothing with `skip_polling`
 *   (https://cloud.google.com/workflows/docs/reference/googleapis/workflowexecutions/v1/projects.locations.workflows.executions/run).
 *   A failed or cancelled execution raises `{message, tags: ['ExecutionError'],
 *   execution}`, the error Google documents for the `experimental.executions.run`
 *   routine that `run` replaces
 *   (https://cloud.google.com/workflows/docs/reference/stdlib/experimental.executions/execution_error).
 * - googleapis.cloudtasks.v2.projects.locations.queues.* and queues.tasks.*
 *   (https://cloud.google.com/workflows/docs/reference/googleapis/cloudtasks/Overview).
 * An API error raises an HttpError map (`code`, `message`, `body`), as every
 * connector does; the engine retries 429/503 like Google's connectors.
 */
import type { RawRequest, RawResponse } from '../router.ts';
import type { ConnectorHandler } from '../workflows/index.ts';
import { decodeJsonText, WorkflowRuntimeError } from '../workflows/index.ts';

/** What the connectors need from the host. */
export interface ApiConnectorDeps {
  /** Handles one request with local-cloud's router, in process. */
  handle(request: RawRequest): Promise<RawResponse>;
  /** The bearer token the routes accept for writes (the local OAuth token). */
  oauthToken: string;
  /** Resolves when an execution started in this process has finished (at once otherwise). */
  waitForExecution(name: string): Promise<void>;
  /** The calling execution's project and location: `run`'s defaults. */
  project: string;
  location: string;
}

type Args = Record<string, unknown>;

interface Method {
  readonly http: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** The path from the resource-name argument, e.g. `parent` + '/queues'. */
  readonly path: (args: Args) => string;
  readonly query?: readonly string[];
  readonly body?: boolean;
}

function resource(args: Args, key: 'name' | 'parent'): string {
  const v = args[key];
  if (typeof v !== 'string' || v === '') {
    throw new WorkflowRuntimeError({ message: `${key} is required`, tags: ['ValueError'] });
  }
  return v;
}

const byName =
  (suffix = '') =>
  (a: Args) =>
    `/v2/${resource(a, 'name')}${suffix}`;
const under = (collection: string) => (a: Args) => `/v2/${resource(a, 'parent')}/${collection}`;

const QUEUES = 'googleapis.cloudtasks.v2.projects.locations.queues';
const EXECUTIONS = 'googleapis.workflowexecutions.v1.projects.locations.workflows.executions';

/** The REST methods behind each connector function (Cloud Tasks v2 and Workflow Executions v1 references). */
const METHODS: Record<string, Method> = {
  [`${QUEUES}.create`]: { http: 'POST', path: under('queues'), body: true },
  [`${QUEUES}.delete`]: { http: 'DELETE', path: byName() },
  [`${QUEUES}.get`]: { http: 'GET', path: byName() },
  [`${QUEUES}.list`]: {
    http: 'GET',
    path: under('queues'),
    query: ['filter', 'pageSize', 'pageToken'],
  },
  [`${QUEUES}.patch`]: { http: 'PATCH', path: byName(), query: ['updateMask'], body: true },
  [`${QUEUES}.pause`]: { http: 'POST', path: byName(':pause'), body: true },
  [`${QUEUES}.resume`]: { http: 'POST', path: byName(':resume'), body: true },
  [`${QUEUES}.purge`]: { http: 'POST', path: byName(':purge'), body: true },
  [`${QUEUES}.tasks.create`]: { http: 'POST', path: under('tasks'), body: true },
  [`${QUEUES}.tasks.delete`]: { http: 'DELETE', path: byName() },
  [`${QUEUES}.tasks.get`]: { http: 'GET', path: byName(), query: ['responseView'] },
  [`${QUEUES}.tasks.list`]: {
    http: 'GET',
    path: under('tasks'),
    query: ['responseView', 'pageSize', 'pageToken'],
  },
  [`${QUEUES}.tasks.run`]: { http: 'POST', path: byName(':run'), body: true },
  [`${EXECUTIONS}.create`]: {
    http: 'POST',
    path: (a) => `/v1/${resource(a, 'parent')}/executions`,
    body: true,
  },
  [`${EXECUTIONS}.get`]: {
    http: 'GET',
    path: (a) => `/v1/${resource(a, 'name')}`,
    query: ['view'],
  },
  [`${EXECUTIONS}.list`]: {
    http: 'GET',
    path: (a) => `/v1/${resource(a, 'parent')}/executions`,
    query: ['filter', 'orderBy', 'pageSize', 'pageToken', 'view'],
  },
  [`${EXECUTIONS}.cancel`]: {
    http: 'POST',
    path: (a) => `/v1/${resource(a, 'name')}:cancel`,
    body: true,
  },
};

/** Sends one request to the local API; an error answer raises an HttpError map. */
async function send(deps: ApiConnectorDeps, method: Method, args: Args): Promise<unknown> {
  const query = new URLSearchParams();
  for (const key of method.query ?? []) {
    const v = args[key];
    if (v !== undefined && v !== null) query.set(key, String(v));
  }
  const qs = query.toString();
  // In process, but through the same guard as a network caller: a loopback Host
  // and local-cloud's token (src/request-guard.ts), as Google's connectors call the
  // public API with the workflow's credentials.
  const headers = new Headers({
    host: '127.0.0.1',
    authorization: `Bearer ${deps.oauthToken}`,
    'content-type': 'application/json',
  });
  const response = await deps.handle({
    method: method.http,
    url: `${method.path(args)}${qs === '' ? '' : `?${qs}`}`,
    headers,
    body: method.body === true ? JSON.stringify(args.body ?? {}) : '',
  });
  const body: unknown = response.body === '' ? {} : JSON.parse(response.body);
  if (response.status >= 400) {
    const message =
      (body as { error?: { message?: unknown } }).error?.message ??
      `HTTP server responded with error code ${response.status}`;
    throw new WorkflowRuntimeError({
      message: String(message),
      code: response.status,
      body,
      tags: ['HttpError'],
    });
  }
  return body;
}

function abortable(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** The `run` helper: create an execution, wait for its end, return its decoded result. */
function runHelper(deps: ApiConnectorDeps): ConnectorHandler {
  return async (args, options) => {
    const workflowId = args.workflow_id;
    if (typeof workflowId !== 'string' || workflowId === '') {
      throw new WorkflowRuntimeError({ message: 'workflow_id is required', tags: ['ValueError'] });
    }
    const project = typeof args.project_id === 'string' ? args.project_id : deps.project;
    const location = typeof args.location === 'string' ? args.location : deps.location;
    const parent = `projects/${project}/locations/${location}/workflows/${workflowId}`;
    const body = args.argument === undefined ? {} : { argument: JSON.stringify(args.argument) };
    const created = (await send(deps, METHODS[`${EXECUTIONS}.create`] as Method, {
      parent,
      body,
    })) as { name: string };
    if (options.skipPolling) return null;
    const cancelled = abortable(options.signal);
    cancelled.catch(() => {});
    for (;;) {
      await Promise.race([deps.waitForExecution(created.name), cancelled]);
      const execution = (await send(deps, METHODS[`${EXECUTIONS}.get`] as Method, {
        name: created.name,
      })) as { state: string; result?: string };
      if (execution.state === 'SUCCEEDED') return decodeJsonText(execution.result ?? 'null');
      if (execution.state !== 'ACTIVE') {
        throw new WorkflowRuntimeError({
          message: `Execution ${created.name} ended with state ${execution.state}`,
          tags: ['ExecutionError'],
          execution,
        });
      }
      // Still ACTIVE but not running here (a restart re-runs it): look again shortly.
      await Promise.race([new Promise((resolve) => setTimeout(resolve, 1000)), cancelled]);
    }
  };
}

/** The connectors of one workflow execution, by their full names. */
export function createApiConnectors(deps: ApiConnectorDeps): Record<string, ConnectorHandler> {
  const connectors: Record<string, ConnectorHandler> = {};
  for (const [name, method] of Object.entries(METHODS)) {
    connectors[name] = (args) => send(deps, method, args);
  }
  connectors[`${EXECUTIONS}.run`] = runHelper(deps);
  return connectors;
}
