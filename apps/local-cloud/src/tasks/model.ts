/**
 * Cloud Tasks v2 resources (https://cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues,
 * …/projects.locations.queues.tasks): validation of request bodies, Google's
 * defaults, and the JSON we answer with. Enums arrive as names or, from the
 * client libraries' REST transport (`enum-encoding=int`), as numbers.
 */
import { invalidArgument } from '../google-error.ts';
import { LIMITS } from '../limits.ts';
import { formatDuration, parseDuration, parseTimestamp } from '../time.ts';
import type { RetryPolicy } from './retry-policy.ts';
import { defaultBurst } from './token-bucket.ts';

/** Queue states that matter locally. */
export type QueueState = 'RUNNING' | 'PAUSED' | 'DISABLED';

/** A queue as stored and returned. */
export interface Queue {
  name: string;
  rateLimits: {
    maxDispatchesPerSecond: number;
    maxBurstSize: number;
    maxConcurrentDispatches: number;
  };
  retryConfig: {
    maxAttempts: number;
    maxRetryDuration: string;
    minBackoff: string;
    maxBackoff: string;
    maxDoublings: number;
  };
  state: QueueState;
  purgeTime?: string;
  stackdriverLoggingConfig?: { samplingRatio: number };
}

/** An attempt record (Task.firstAttempt / lastAttempt). */
export interface Attempt {
  scheduleTime: string;
  dispatchTime: string;
  responseTime?: string;
  responseStatus?: { code: number; message: string };
}

/** HTTP target of a task. */
export interface HttpRequest {
  url: string;
  httpMethod: string;
  headers?: Record<string, string>;
  body?: string;
  oauthToken?: { serviceAccountEmail: string; scope?: string };
  oidcToken?: { serviceAccountEmail: string; audience?: string };
}

/** A task as stored and returned (FULL view). */
export interface Task {
  name: string;
  httpRequest: HttpRequest;
  scheduleTime: string;
  createTime: string;
  dispatchDeadline: string;
  dispatchCount: number;
  responseCount: number;
  firstAttempt?: Attempt;
  lastAttempt?: Attempt;
}

const QUEUE_STATES = ['STATE_UNSPECIFIED', 'RUNNING', 'PAUSED', 'DISABLED'] as const;
const HTTP_METHODS = [
  'HTTP_METHOD_UNSPECIFIED',
  'POST',
  'GET',
  'HEAD',
  'PUT',
  'DELETE',
  'PATCH',
  'OPTIONS',
] as const;
const VIEWS = ['VIEW_UNSPECIFIED', 'BASIC', 'FULL'] as const;

function enumName<T extends readonly string[]>(values: T, raw: unknown, field: string): T[number] {
  if (typeof raw === 'number' && values[raw] !== undefined) return values[raw];
  if (typeof raw === 'string' && (values as readonly string[]).includes(raw)) return raw;
  throw invalidArgument(`Invalid value at '${field}': ${JSON.stringify(raw)}`);
}

/** Reads a `view`/`responseView` value; BASIC unless FULL is asked for. */
export function readView(raw: unknown): 'BASIC' | 'FULL' {
  if (raw === undefined || raw === null || raw === '') return 'BASIC';
  return enumName(
    VIEWS,
    typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw,
    'view',
  ) === 'FULL'
    ? 'FULL'
    : 'BASIC';
}

function obj(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : {};
}

function num(v: unknown, fallback: number, field: string): number {
  if (v === undefined || v === null) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw invalidArgument(`Invalid number at '${field}': ${String(v)}`);
  return n;
}

/** A queue with Google's defaults applied to whatever the request gave. */
export function normalizeQueue(name: string, input: Record<string, unknown>): Queue {
  const rl = obj(input.rateLimits);
  const rc = obj(input.retryConfig);
  const rate = num(rl.maxDispatchesPerSecond, 500, 'rateLimits.maxDispatchesPerSecond');
  if (rate <= 0 || rate > 500) {
    throw invalidArgument('rateLimits.maxDispatchesPerSecond must be in (0, 500].');
  }
  const concurrent = num(rl.maxConcurrentDispatches, 1000, 'rateLimits.maxConcurrentDispatches');
  if (concurrent < 1 || concurrent > 5000) {
    throw invalidArgument('rateLimits.maxConcurrentDispatches must be in [1, 5000].');
  }
  const minBackoff = parseDuration(rc.minBackoff ?? '0.100s', 'retryConfig.minBackoff');
  const maxBackoff = parseDuration(rc.maxBackoff ?? '3600s', 'retryConfig.maxBackoff');
  if (minBackoff > maxBackoff) throw invalidArgument('minBackoff must not exceed maxBackoff.');
  const queue: Queue = {
    name,
    rateLimits: {
      maxDispatchesPerSecond: rate,
      maxBurstSize: defaultBurst(rate),
      maxConcurrentDispatches: concurrent,
    },
    retryConfig: {
      maxAttempts: num(rc.maxAttempts, 100, 'retryConfig.maxAttempts'),
      maxRetryDuration: formatDuration(
        parseDuration(rc.maxRetryDuration ?? '0s', 'retryConfig.maxRetryDuration'),
      ),
      minBackoff: formatDuration(minBackoff),
      maxBackoff: formatDuration(maxBackoff),
      maxDoublings: num(rc.maxDoublings, 16, 'retryConfig.maxDoublings'),
    },
    state:
      input.state === undefined
        ? 'RUNNING'
        : (enumName(QUEUE_STATES, input.state, 'state') as QueueState),
  };
  if ((queue.state as string) === 'STATE_UNSPECIFIED') queue.state = 'RUNNING';
  if (typeof input.purgeTime === 'string') queue.purgeTime = input.purgeTime;
  if (input.stackdriverLoggingConfig !== undefined) {
    const ratio = num(obj(input.stackdriverLoggingConfig).samplingRatio, 0, 'samplingRatio');
    queue.stackdriverLoggingConfig = { samplingRatio: ratio };
  }
  return queue;
}

/** The retry policy of a queue, in milliseconds. */
export function retryPolicy(queue: Queue): RetryPolicy {
  const rc = queue.retryConfig;
  return {
    maxAttempts: rc.maxAttempts,
    maxRetryDurationMs: parseDuration(rc.maxRetryDuration, 'maxRetryDuration'),
    minBackoffMs: parseDuration(rc.minBackoff, 'minBackoff'),
    maxBackoffMs: parseDuration(rc.maxBackoff, 'maxBackoff'),
    maxDoublings: rc.maxDoublings,
  };
}

/**
 * Applies a PATCH body to a queue: with an updateMask only the listed
 * (dotted) fields change, without one every field present in the body does.
 */
export function patchQueue(
  existing: Queue,
  body: Record<string, unknown>,
  updateMask: string | null,
): Queue {
  const merged = structuredClone(existing) as unknown as Record<string, unknown>;
  const paths = updateMask
    ? updateMask
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)
    : Object.keys(body).filter((k) => k !== 'name');
  for (const path of paths) {
    const parts = path.split('.');
    let src: unknown = body;
    let dst = merged;
    for (const [i, part] of parts.entries()) {
      src = obj(src)[part];
      if (i === parts.length - 1) {
        if (src === undefined) delete dst[part];
        else dst[part] = src;
      } else {
        if (typeof dst[part] !== 'object' || dst[part] === null) dst[part] = {};
        dst = dst[part] as Record<string, unknown>;
      }
    }
  }
  return normalizeQueue(existing.name, merged);
}

const TASK_ID = /^[A-Za-z0-9_-]{1,500}$/;

/** Validates a CreateTask body's `task` into a stored Task. */
export function normalizeNewTask(
  queueName: string,
  input: Record<string, unknown>,
  generatedId: string,
  nowMs: number,
): Task {
  let name = `${queueName}/tasks/${generatedId}`;
  if (typeof input.name === 'string' && input.name !== '') {
    const prefix = `${queueName}/tasks/`;
    const id = input.name.startsWith(prefix) ? input.name.slice(prefix.length) : '';
    if (!TASK_ID.test(id)) {
      throw invalidArgument(
        `Task name must be ${prefix}TASK_ID with TASK_ID of [A-Za-z0-9_-]: ${input.name}`,
      );
    }
    name = input.name;
  }
  if (input.appEngineHttpRequest !== undefined) {
    throw invalidArgument('appEngineHttpRequest is not supported by local-cloud; use httpRequest.');
  }
  const hr = obj(input.httpRequest);
  if (typeof hr.url !== 'string' || !/^https?:\/\//.test(hr.url)) {
    throw invalidArgument('task.httpRequest.url must be an http(s) URL.');
  }
  const method =
    hr.httpMethod === undefined ? 'POST' : enumName(HTTP_METHODS, hr.httpMethod, 'httpMethod');
  const httpRequest: HttpRequest = {
    url: hr.url,
    httpMethod: method === 'HTTP_METHOD_UNSPECIFIED' ? 'POST' : method,
  };
  if (hr.headers !== undefined) {
    httpRequest.headers = Object.fromEntries(
      Object.entries(obj(hr.headers)).map(([k, v]) => [k, String(v)]),
    );
  }
  if (typeof hr.body === 'string' && hr.body !== '') httpRequest.body = hr.body;
  const headerBytes = Object.entries(httpRequest.headers ?? {}).reduce(
    (n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v),
    0,
  );
  if (headerBytes >= LIMITS.taskHeaderBytes) {
    throw invalidArgument('task.httpRequest.headers must be less than 80KB.');
  }
  const bodyBytes =
    httpRequest.body === undefined ? 0 : Buffer.from(httpRequest.body, 'base64').length;
  if (Buffer.byteLength(httpRequest.url) + headerBytes + bodyBytes > LIMITS.taskBytes) {
    throw invalidArgument('Task size exceeds the 100KB limit.');
  }
  if (hr.oauthToken !== undefined && hr.oidcToken !== undefined) {
    throw invalidArgument('Only one of oauthToken and oidcToken may be set.');
  }
  if (hr.oauthToken !== undefined) {
    const t = obj(hr.oauthToken);
    httpRequest.oauthToken = { serviceAccountEmail: String(t.serviceAccountEmail ?? '') };
    if (typeof t.scope === 'string') httpRequest.oauthToken.scope = t.scope;
  }
  if (hr.oidcToken !== undefined) {
    const t = obj(hr.oidcToken);
    httpRequest.oidcToken = { serviceAccountEmail: String(t.serviceAccountEmail ?? '') };
    if (typeof t.audience === 'string') httpRequest.oidcToken.audience = t.audience;
  }
  const scheduleMs =
    input.scheduleTime === undefined ? nowMs : parseTimestamp(input.scheduleTime, 'scheduleTime');
  const deadlineMs =
    input.dispatchDeadline === undefined
      ? 600_000
      : parseDuration(input.dispatchDeadline, 'dispatchDeadline');
  if (deadlineMs <= 0 || deadlineMs > 1_800_000) {
    throw invalidArgument('dispatchDeadline must be positive and at most 30 minutes.');
  }
  return {
    name,
    httpRequest,
    scheduleTime: new Date(Math.max(scheduleMs, 0)).toISOString(),
    createTime: new Date(nowMs).toISOString(),
    dispatchDeadline: formatDuration(deadlineMs),
    dispatchCount: 0,
    responseCount: 0,
  };
}

/** A task as the API returns it in the given view (BASIC omits the body). */
export function taskView(task: Task, view: 'BASIC' | 'FULL'): Task & { view: string } {
  if (view === 'FULL') return { ...task, view };
  const { body: _body, ...rest } = task.httpRequest;
  return { ...task, httpRequest: rest, view };
}
