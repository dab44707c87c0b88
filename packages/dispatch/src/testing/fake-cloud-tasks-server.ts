/**
 * A loopback server speaking the part of the Cloud Tasks v2 REST API that the
 * dispatcher uses (https://cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues.tasks):
 * create (with name deduplication: 409 ALREADY_EXISTS in Google's error JSON),
 * get, list and delete tasks; and of the queue API the QueueAdmin uses: get
 * (v2, and v2beta3 with `stats` when `readMask` names them), pause and
 * resume. A queue springs into existence RUNNING when first named. It records every request and can inject
 * failures, so tests and benchmarks drive the real `@google-cloud/tasks`
 * client against it. It never dispatches tasks; apps/local-cloud does that.
 */
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

/** A task as stored: the JSON the client sent, plus server-set fields. */
export type FakeTask = Record<string, unknown> & { name: string; createTime: string };

/** Options for {@link startFakeCloudTasksServer}. */
export interface FakeCloudTasksOptions {
  /** Keep every request in `requests` (default true; turn off for benchmarks). */
  recordRequests?: boolean;
}

/** A running fake; `close()` it in `afterAll`. */
export interface FakeCloudTasksServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`: pass it as the dispatcher's `apiEndpoint`. */
  readonly url: string;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /** Live tasks by full name. */
  readonly tasks: Map<string, FakeTask>;
  /** Queue states by full name (queues named so far). */
  readonly queueStates: Map<string, 'RUNNING' | 'PAUSED'>;
  /** Number of tasks created (duplicates excluded). */
  readonly createdCount: number;
  /** TCP connections accepted so far (shows whether the client reuses connections). */
  readonly connectionCount: number;
  /** Answers the next `times` requests with `status` (Google error JSON) instead of handling them. */
  failNext(status: number, times?: number): void;
  /** Forgets requests, tasks and injected failures. */
  reset(): void;
  close(): Promise<void>;
}

const QUEUE_PATH =
  /^\/(v2|v2beta3)\/(projects\/[^/]+\/locations\/[^/]+\/queues\/[^/:]+)(?::(pause|resume))?$/;

const TASKS_PATH =
  /^\/v2\/(projects\/[^/]+\/locations\/[^/]+\/queues\/[^/]+)\/tasks(?:\/([^/:]+))?$/;

/** What the fake holds between requests. */
interface FakeState {
  tasks: Map<string, FakeTask>;
  // Names stay reserved after deletion, as in Cloud Tasks (~1 hour there; for the server's life here).
  usedNames: Set<string>;
  queueStates: Map<string, 'RUNNING' | 'PAUSED'>;
  createdCount: number;
  /** Sequence of server-chosen task ids. */
  generated: number;
}

/** queues.get (v2; v2beta3 with `stats` when the read mask names them), queues.pause, queues.resume. */
function handleQueue(
  state: FakeState,
  res: ServerResponse,
  method: string,
  url: URL,
  match: RegExpExecArray,
): void {
  const version = match[1];
  const queueName = match[2] as string;
  const verb = match[3];
  if ((method === 'POST') !== (verb !== undefined) || (method !== 'GET' && method !== 'POST')) {
    sendGoogleError(res, 404, `unsupported ${method} ${url.pathname}`);
    return;
  }
  if (verb) state.queueStates.set(queueName, verb === 'pause' ? 'PAUSED' : 'RUNNING');
  const queue: Record<string, unknown> = {
    name: queueName,
    state: state.queueStates.get(queueName) ?? 'RUNNING',
  };
  // Stats only in v2beta3 and only when the read mask names them, as the API documents.
  const mask = (url.searchParams.get('readMask') ?? '').split(',');
  if (method === 'GET' && version === 'v2beta3' && mask.includes('stats')) {
    const waiting = [...state.tasks.values()].filter((t) =>
      t.name.startsWith(`${queueName}/tasks/`),
    );
    const next = waiting.map((t) => String(t.scheduleTime)).sort()[0];
    queue.stats = {
      tasksCount: String(waiting.length),
      concurrentDispatchesCount: '0',
      executedLastMinuteCount: '0',
      ...(next ? { oldestEstimatedArrivalTime: next } : {}),
    };
  }
  sendJson(res, 200, queue);
}

/** tasks.create: a name used before (even by a deleted task) answers 409 ALREADY_EXISTS. */
function createTask(state: FakeState, res: ServerResponse, queue: string, body: unknown): void {
  const task = (body as { task?: Record<string, unknown> } | undefined)?.task;
  if (task === undefined || typeof task !== 'object') {
    sendGoogleError(res, 400, 'task is required');
    return;
  }
  const name =
    typeof task.name === 'string' && task.name !== ''
      ? task.name
      : `${queue}/tasks/${String(++state.generated).padStart(20, '0')}`;
  if (!name.startsWith(`${queue}/tasks/`)) {
    sendGoogleError(res, 400, `task name ${name} is not in queue ${queue}`);
    return;
  }
  if (state.usedNames.has(name)) {
    sendGoogleError(res, 409, 'Requested entity already exists');
    return;
  }
  const now = new Date().toISOString();
  const stored: FakeTask = {
    scheduleTime: now,
    dispatchCount: 0,
    responseCount: 0,
    view: 'BASIC',
    ...task,
    name,
    createTime: now,
  };
  state.usedNames.add(name);
  state.tasks.set(name, stored);
  state.createdCount += 1;
  sendJson(res, 200, stored);
}

/** tasks.create, tasks.list, tasks.get, tasks.delete. */
function handleTasks(
  state: FakeState,
  res: ServerResponse,
  method: string,
  url: URL,
  match: RegExpExecArray,
  body: unknown,
): void {
  const queue = match[1] as string;
  const taskId = match[2];
  if (method === 'POST' && taskId === undefined) {
    createTask(state, res, queue, body);
    return;
  }
  if (method === 'GET' && taskId === undefined) {
    const list = [...state.tasks.values()].filter((t) => t.name.startsWith(`${queue}/tasks/`));
    sendJson(res, 200, { tasks: list });
    return;
  }
  const name = `${queue}/tasks/${taskId}`;
  const existing = state.tasks.get(name);
  if (existing === undefined) {
    sendGoogleError(res, 404, `task ${name} not found`);
    return;
  }
  if (method === 'GET') {
    sendJson(res, 200, existing);
    return;
  }
  if (method === 'DELETE') {
    state.tasks.delete(name);
    sendJson(res, 200, {});
    return;
  }
  sendGoogleError(res, 404, `unsupported ${method} ${url.pathname}`);
}

/** Starts the fake on 127.0.0.1 with an OS-chosen port. */
export async function startFakeCloudTasksServer(
  options: FakeCloudTasksOptions = {},
): Promise<FakeCloudTasksServer> {
  const record = options.recordRequests ?? true;
  const requests: RecordedRequest[] = [];
  const failures: number[] = [];
  const state: FakeState = {
    tasks: new Map(),
    usedNames: new Set(),
    queueStates: new Map(),
    createdCount: 0,
    generated: 0,
  };

  const server: Server = createJsonServer(async (req, res) => {
    const taken = await takeRequest(req, res, record ? requests : undefined, failures);
    if (!taken) return;
    const { url, method, body } = taken;
    const queueMatch = QUEUE_PATH.exec(url.pathname);
    if (queueMatch) {
      handleQueue(state, res, method, url, queueMatch);
      return;
    }
    const match = TASKS_PATH.exec(url.pathname);
    if (!match) {
      sendGoogleError(res, 404, `unknown path ${url.pathname}`);
      return;
    }
    handleTasks(state, res, method, url, match, body);
  });

  let connectionCount = 0;
  server.on('connection', () => {
    connectionCount += 1;
  });
  const url = await listenOnLoopback(server);
  return {
    url,
    requests,
    tasks: state.tasks,
    queueStates: state.queueStates,
    get connectionCount() {
      return connectionCount;
    },
    get createdCount() {
      return state.createdCount;
    },
    failNext(status, times = 1) {
      for (let i = 0; i < times; i += 1) failures.push(status);
    },
    reset() {
      requests.length = 0;
      state.tasks.clear();
      state.usedNames.clear();
      state.queueStates.clear();
      failures.length = 0;
      state.createdCount = 0;
    },
    close: () => closeServer(server),
  };
}
