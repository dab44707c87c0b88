/**
 * The Cloud Tasks scheduler: one bounded loop that wakes on changes (kick)
 * and timers, honours each RUNNING queue's token bucket and concurrency
 * limit, sends due tasks as HTTP requests with their dispatch deadline, and
 * applies the queue's retry policy. Dispatch is at-least-once: a task in
 * flight when the process dies is sent again after restart, as on Google.
 */
import { coerceError, type Logger } from '@slideshow/runtime';
import type { OutboundPolicy } from '../outbound-policy.ts';
import { parseDuration } from '../time.ts';
import { type Attempt, type Queue, retryPolicy, type Task } from './model.ts';
import { backoffMs, isExhausted } from './retry-policy.ts';
import type { TaskRow, TasksStore } from './store.ts';
import { fullBucket, msUntilToken, refill, type TokenBucket } from './token-bucket.ts';

/** Dependencies of the dispatcher. */
export interface TaskSchedulerDeps {
  store: TasksStore;
  logger: Logger;
  /** Bearer token sent for tasks with `oauthToken` (the stack's local OAuth token). */
  oauthToken: string;
  /** Bearer token sent for tasks with `oidcToken` (the stack's local callback secret). */
  oidcToken: string;
  /** Which URLs may be called and which of them may carry a token. */
  outbound: OutboundPolicy;
  now?: () => number;
  /** Longest sleep between scans, so clock jumps and missed kicks heal (ms). */
  maxIdleMs?: number;
}

/**
 * The running scheduler: the emulated service's side, which sends tasks to
 * their targets (the client side, the backend's port, is @slideshow/dispatch's
 * `TaskDispatcher`).
 */
export interface TaskScheduler {
  /** Wakes the loop after a change (task created, queue resumed…). */
  kick(): void;
  /**
   * Dispatches one task now, ignoring pause and rate limits (tasks.run), and
   * returns it as dispatched — "the status after the task is dispatched but
   * before the task is received by its target" — or undefined when it is gone.
   */
  runNow(name: string): Task | undefined;
  /** Stops scheduling, aborts requests in flight (they are re-sent later) and waits for them. */
  stop(): Promise<void>;
  /** Number of requests in flight (tests, status). */
  inFlight(): number;
}

/** Maps an HTTP status to the google.rpc.Code Cloud Tasks records in responseStatus. */
export function rpcCodeForHttp(status: number): number {
  const map: Record<number, number> = {
    400: 3,
    401: 16,
    403: 7,
    404: 5,
    409: 10,
    429: 8,
    499: 1,
    500: 13,
    501: 12,
    503: 14,
    504: 4,
  };
  return map[status] ?? 2;
}

/** Starts the scheduler loop. */
export function startTaskScheduler(deps: TaskSchedulerDeps): TaskScheduler {
  const { store, logger } = deps;
  const now = deps.now ?? Date.now;
  const maxIdle = deps.maxIdleMs ?? 1000;
  const buckets = new Map<string, TokenBucket>();
  const inFlightByQueue = new Map<string, number>();
  const pending = new Set<Promise<void>>();
  const stopController = new AbortController();
  let wake: (() => void) | undefined;
  let stopped = false;

  const recovered = store.resetInFlight();
  if (recovered > 0)
    logger.warn('re-dispatching tasks that were in flight at shutdown', { recovered });

  const attempts: AttemptContext = {
    store,
    logger,
    now,
    stop: stopController.signal,
    outbound: deps.outbound,
    oauthToken: deps.oauthToken,
    oidcToken: deps.oidcToken,
  };

  function launch(row: TaskRow, queue: Queue | undefined, counted: boolean): Promise<void> {
    if (counted) inFlightByQueue.set(row.queue, (inFlightByQueue.get(row.queue) ?? 0) + 1);
    const p = dispatch(attempts, row, queue, !counted)
      .catch((error: unknown) => {
        logger.error('dispatch failed unexpectedly', {
          task: row.task.name,
          error: coerceError(error),
        });
        // Never leave the task marked in flight: the next scan sends it again.
        try {
          store.setInFlight(row.task.name, false);
        } catch (resetError) {
          logger.error('could not release a task after a failed dispatch', {
            task: row.task.name,
            error: coerceError(resetError),
          });
        }
      })
      .finally(() => {
        if (counted) inFlightByQueue.set(row.queue, (inFlightByQueue.get(row.queue) ?? 1) - 1);
        pending.delete(p);
        wake?.();
      });
    pending.add(p);
    return p;
  }

  const loop = (async () => {
    while (!stopped) {
      let sleepMs = maxIdle;
      try {
        sleepMs = scanQueues(store, { buckets, inFlightByQueue }, now(), maxIdle, launch);
      } catch (error) {
        logger.error('task scheduler scan failed', { error: coerceError(error) });
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, sleepMs));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  })();

  return {
    kick: () => wake?.(),
    runNow(name) {
      const row = store.getTask(name);
      if (!row) return undefined;
      row.scheduleMs = Math.min(row.scheduleMs, now());
      const queue = store.getQueue(row.queue);
      void launch(row, queue, false);
      return structuredClone(row.task);
    },
    async stop() {
      stopped = true;
      stopController.abort();
      wake?.();
      await loop;
      await Promise.allSettled([...pending]);
    },
    inFlight: () => pending.size,
  };
}

/** What sending and recording one attempt needs. */
interface AttemptContext {
  store: TasksStore;
  logger: Logger;
  now: () => number;
  /** Aborted on shutdown: requests in flight are cut and their tasks sent again later. */
  stop: AbortSignal;
  outbound: OutboundPolicy;
  oauthToken: string;
  oidcToken: string;
}

/** How an attempt went: the target's HTTP status, or why there was none (google.rpc code). */
type AttemptResult = { status: number } | { failureCode: number; failure: string };

/** The request headers of an attempt: the task's own plus those Cloud Tasks adds. */
function dispatchHeaders(row: TaskRow, ctx: AttemptContext): Headers {
  const hr = row.task.httpRequest;
  const headers = new Headers(hr.headers ?? {});
  const id = row.task.name.split('/').pop() ?? '';
  const queueId = row.queue.split('/').pop() ?? '';
  // Headers Cloud Tasks adds to HTTP targets (https://cloud.google.com/tasks/docs/creating-http-target-tasks#handler).
  headers.set('X-CloudTasks-QueueName', queueId);
  headers.set('X-CloudTasks-TaskName', id);
  headers.set('X-CloudTasks-TaskRetryCount', String(row.task.dispatchCount - 1));
  // Not counting 5xx answers; a task stored before `local` existed counts every answer.
  const local = row.task.local;
  headers.set(
    'X-CloudTasks-TaskExecutionCount',
    String(local?.executions ?? row.task.responseCount),
  );
  // "The HTTP response code from the previous retry": sent once there was one.
  if (local?.previousResponse !== undefined) {
    headers.set('X-CloudTasks-TaskPreviousResponse', String(local.previousResponse));
  }
  headers.set('X-CloudTasks-TaskETA', String(row.scheduleMs / 1000));
  headers.set('User-Agent', 'Google-Cloud-Tasks');
  // Tokens stay on this machine: a task to another host is sent without one.
  if (hr.oauthToken && ctx.outbound.mayCarry(hr.url, 'oauth')) {
    headers.set('Authorization', `Bearer ${ctx.oauthToken}`);
  }
  if (hr.oidcToken && ctx.outbound.mayCarry(hr.url, 'oidc')) {
    headers.set('Authorization', `Bearer ${ctx.oidcToken}`);
  }
  return headers;
}

/**
 * Sends the task's HTTP request within its dispatch deadline; 'stopped' when
 * a shutdown cut it. A URL the outbound policy refuses is not sent
 * (PERMISSION_DENIED); a timeout is DEADLINE_EXCEEDED, any other failure UNAVAILABLE.
 */
async function sendAttempt(row: TaskRow, ctx: AttemptContext): Promise<AttemptResult | 'stopped'> {
  const hr = row.task.httpRequest;
  const refused = ctx.outbound.refusal(hr.url);
  if (refused !== undefined) return { failureCode: 7, failure: refused };
  const deadlineMs = parseDuration(row.task.dispatchDeadline, 'dispatchDeadline');
  try {
    const res = await fetch(hr.url, {
      method: hr.httpMethod,
      headers: dispatchHeaders(row, ctx),
      body:
        hr.body === undefined || hr.httpMethod === 'GET' || hr.httpMethod === 'HEAD'
          ? undefined
          : Buffer.from(hr.body, 'base64'),
      // Cloud Tasks does not follow redirects: only 2xx counts as success.
      redirect: 'manual',
      signal: AbortSignal.any([AbortSignal.timeout(deadlineMs), ctx.stop]),
    });
    // The answer's body is not used: drop it rather than hold whatever size it is.
    await res.body?.cancel();
    return { status: res.status };
  } catch (error) {
    const e = coerceError(error);
    if (ctx.stop.aborted) return 'stopped';
    const timedOut = e.cause instanceof DOMException && e.cause.name === 'TimeoutError';
    return timedOut
      ? { failureCode: 4, failure: `dispatch deadline of ${row.task.dispatchDeadline} exceeded` }
      : { failureCode: 14, failure: e.message };
  }
}

/**
 * Sends one attempt and records it. Everything up to the request is
 * synchronous (the attempt is recorded before the first await), which
 * tasks.run relies on. A failed attempt is retried after the backoff, counted
 * from its end, or for tasks.run (`forced`) from the call ("the time that
 * RunTask was called plus the retry delay").
 */
async function dispatch(
  ctx: AttemptContext,
  row: TaskRow,
  queue: Queue | undefined,
  forced: boolean,
): Promise<void> {
  const { store, now } = ctx;
  const start = now();
  const attempt: Attempt = {
    scheduleTime: new Date(row.scheduleMs).toISOString(),
    dispatchTime: new Date(start).toISOString(),
  };
  row.task.dispatchCount += 1;
  row.task.firstAttempt ??= attempt;
  row.firstDispatchMs ??= start;
  row.task.lastAttempt = attempt;
  if (!store.updateTask(row, true)) return;
  const log = ctx.logger.child({ task: row.task.name, dispatchCount: row.task.dispatchCount });
  const result = await sendAttempt(row, ctx);
  if (result === 'stopped') {
    // Shutting down: leave the task to be sent again by the next process.
    store.setInFlight(row.task.name, false);
    return;
  }
  const end = now();
  attempt.responseTime = new Date(end).toISOString();
  const status = 'status' in result ? result.status : undefined;
  const failure = 'failure' in result ? result.failure : undefined;
  row.task.local ??= { executions: row.task.responseCount };
  const local = row.task.local;
  local.previousResponse = status;
  if (status !== undefined) {
    row.task.responseCount += 1;
    if (status < 500) local.executions += 1;
    attempt.responseStatus = {
      code: status >= 200 && status < 300 ? 0 : rpcCodeForHttp(status),
      message: `HTTP ${status}`,
    };
  } else if ('failureCode' in result) {
    attempt.responseStatus = { code: result.failureCode, message: result.failure };
  }
  if (status !== undefined && status >= 200 && status < 300) {
    store.finishTask(row.task.name, end);
    log.debug('task succeeded', { status });
    return;
  }
  const policy = queue ? retryPolicy(queue) : undefined;
  if (!policy || isExhausted(policy, row.task.dispatchCount, row.firstDispatchMs, end)) {
    store.finishTask(row.task.name, end);
    log.warn('task dropped after its last attempt', { status, failure });
    return;
  }
  row.scheduleMs = (forced ? start : end) + backoffMs(policy, row.task.dispatchCount);
  // Task.scheduleTime: "The time when the task is scheduled to be attempted or retried."
  row.task.scheduleTime = new Date(row.scheduleMs).toISOString();
  store.updateTask(row, false);
  log.info('task attempt failed; retrying', {
    status,
    failure,
    retryAt: new Date(row.scheduleMs),
  });
}

/**
 * One scan over all queues: launches the due tasks each RUNNING queue's
 * token bucket and free concurrency allow; returns how long to sleep.
 */
function scanQueues(
  store: TasksStore,
  {
    buckets,
    inFlightByQueue,
  }: { buckets: Map<string, TokenBucket>; inFlightByQueue: Map<string, number> },
  t: number,
  maxIdle: number,
  launch: (row: TaskRow, queue: Queue, counted: true) => void,
): number {
  let sleepMs = maxIdle;
  for (const queue of store.allQueues()) {
    if (queue.state !== 'RUNNING') continue;
    const { maxDispatchesPerSecond: rate, maxBurstSize: burst } = queue.rateLimits;
    let bucket = refill(buckets.get(queue.name) ?? fullBucket(burst, t), t, rate, burst);
    const slots = queue.rateLimits.maxConcurrentDispatches - (inFlightByQueue.get(queue.name) ?? 0);
    const allowed = Math.min(Math.floor(bucket.tokens), slots);
    let launched = 0;
    if (allowed > 0) {
      const due = store.dueTasks(queue.name, t, allowed);
      for (const row of due) launch(row, queue, true);
      launched = due.length;
      bucket = { ...bucket, tokens: bucket.tokens - launched };
    }
    buckets.set(queue.name, bucket);
    const next = store.nextScheduleMs(queue.name);
    if (next === undefined) continue;
    if (next > t) sleepMs = Math.min(sleepMs, next - t);
    else if (slots - launched > 0) {
      // Due work held back by the rate limit: sleep until the next token.
      sleepMs = Math.min(sleepMs, Math.max(1, msUntilToken(bucket, rate)));
    }
    // Otherwise concurrency-bound: a finishing dispatch wakes the loop.
  }
  return sleepMs;
}
