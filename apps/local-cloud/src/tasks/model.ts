/**
 * Cloud Tasks v2 resources (https://cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues,
 * …/projects.locations.queues.tasks): the types, a queue's validation with
 * Google's defaults and its updates, Cloud Tasks' periods (TASKS_RULES), and
 * the JSON we answer with. A new task's validation is new-task.ts. Enums
 * arrive as names or, from the client libraries' REST transport
 * (`enum-encoding=int`), as numbers.
 */
import { enumName } from '../enums.ts';
import { invalidArgument } from '../google-error.ts';
import { obj } from '../json-object.ts';
import { LIMITS } from '../limits.ts';
import { formatDuration, parseDuration } from '../time.ts';
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
  /**
   * Local bookkeeping for the X-CloudTasks-* headers, never returned (taskView drops it):
   * responses other than 5xx ("X-CloudTasks-TaskExecutionCount … does not include
   * failures due to 5XX error codes") and the last response's HTTP status.
   */
  local?: { executions: number; previousResponse?: number };
}

const QUEUE_STATES = ['STATE_UNSPECIFIED', 'RUNNING', 'PAUSED', 'DISABLED'] as const;
const VIEWS = ['VIEW_UNSPECIFIED', 'BASIC', 'FULL'] as const;

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

function num(v: unknown, fallback: number, field: string): number {
  if (v === undefined || v === null) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw invalidArgument(`Invalid number at '${field}': ${String(v)}`);
  return n;
}

/**
 * RetryConfig.max_attempts (v2): "Must be >= -1. If unspecified when the queue is created,
 * Cloud Tasks will pick the default. -1 indicates unlimited attempts." It is a proto3 int32
 * without presence, so 0 cannot be told from unspecified (the Node client sends it as 0):
 * 0 gets the default (100, as a queue created without a retryConfig has).
 */
function maxAttemptsOf(raw: unknown): number {
  const n = num(raw, 0, 'retryConfig.maxAttempts');
  if (!Number.isInteger(n) || n < -1) {
    throw invalidArgument(`retryConfig.maxAttempts must be an integer >= -1; got ${String(raw)}.`);
  }
  return n === 0 ? 100 : n;
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
      maxAttempts: maxAttemptsOf(rc.maxAttempts),
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
 * The Queue fields UpdateQueue may change, by updateMask path. `state` and
 * `purgeTime` are output only ("UpdateQueue cannot be used to change state",
 * Queue.state in queue.proto); so is `rateLimits.maxBurstSize` in v2.
 */
const UPDATABLE_QUEUE_PATHS = new Set([
  'rateLimits',
  'rateLimits.maxDispatchesPerSecond',
  'rateLimits.maxConcurrentDispatches',
  'retryConfig',
  'retryConfig.maxAttempts',
  'retryConfig.maxRetryDuration',
  'retryConfig.minBackoff',
  'retryConfig.maxBackoff',
  'retryConfig.maxDoublings',
  'stackdriverLoggingConfig',
  'stackdriverLoggingConfig.samplingRatio',
]);

/**
 * An updateMask path in the JSON (camelCase) spelling: the client libraries'
 * REST transport sends the proto's snake_case paths (`rate_limits.max_dispatches_per_second`),
 * gcloud and hand-written calls camelCase; a path the API does not update is 400,
 * never a 200 that changes nothing.
 */
function queuePath(path: string): string {
  const camel = path.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
  if (!UPDATABLE_QUEUE_PATHS.has(camel)) {
    throw invalidArgument(`Field '${path}' in updateMask cannot be updated.`);
  }
  return camel;
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
        .map(queuePath)
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

/** Cloud Tasks' periods and defaults, in one place (each may be shortened for tests). */
export interface TasksRules {
  /** Default Task.dispatch_deadline of an HTTP task: "the default is 10 minutes". */
  defaultDispatchDeadlineMs: number;
  /**
   * Smallest dispatchDeadline accepted: Google's 15 s (LIMITS). Tests that
   * need a deadline to pass quickly lower it through `startLocalCloud`.
   */
  minDispatchDeadlineMs: number;
  /** How long a deleted or finished task's name stays unusable: "~1 hour" (quotas, task de-duplication window). */
  taskTombstoneMs: number;
  /**
   * How long a deleted queue's name stays unusable. The quotas page lists
   * "Queue re-creation: 7 days"; the v2 queues.delete reference now says
   * "up to 3 days". The longer one is kept: a name refused here for a while
   * is never one Google would refuse after local-cloud accepted it.
   */
  queueTombstoneMs: number;
}

/** Google's values. */
export const TASKS_RULES: TasksRules = {
  defaultDispatchDeadlineMs: 600_000,
  minDispatchDeadlineMs: LIMITS.taskDispatchDeadlineMinMs,
  taskTombstoneMs: 3_600_000,
  queueTombstoneMs: 7 * 86_400_000,
};

/** A task as the API returns it in the given view (BASIC omits the body). */
export function taskView(task: Task, view: 'BASIC' | 'FULL'): Task & { view: string } {
  const { local: _local, ...shown } = task;
  if (view === 'FULL') return { ...shown, view };
  const { body: _body, ...rest } = task.httpRequest;
  return { ...shown, httpRequest: rest, view };
}
