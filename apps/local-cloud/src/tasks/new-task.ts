/**
 * A new Cloud Tasks task (CreateTask's `task`,
 * https://cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues.tasks/create):
 * its name, its HTTP target within Google's limits, its schedule time and its
 * dispatch deadline, validated into the stored Task. The resources' types,
 * queues and the JSON we answer with are in model.ts.
 */
import { enumName } from '../enums.ts';
import { invalidArgument } from '../google-error.ts';
import { obj } from '../json-object.ts';
import { LIMITS } from '../limits.ts';
import { formatDuration, parseDuration, parseTimestamp } from '../time.ts';
import { type HttpRequest, TASKS_RULES, type Task, type TasksRules } from './model.ts';

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
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
const TASK_ID = /^[A-Za-z0-9_-]{1,500}$/;

function httpRequestOf(input: Record<string, unknown>): HttpRequest {
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
  if (typeof hr.body === 'string' && hr.body !== '') {
    // "A request body is allowed only if the HTTP method is POST, PUT, or PATCH. It is an
    // error to set body on a task with an incompatible HttpMethod." (HttpRequest.body)
    if (!BODY_METHODS.has(httpRequest.httpMethod)) {
      throw invalidArgument(
        `task.httpRequest.body is allowed only if the HTTP method is POST, PUT or PATCH; the method is ${httpRequest.httpMethod}.`,
      );
    }
    httpRequest.body = hr.body;
  }
  const headerBytes = Object.entries(httpRequest.headers ?? {}).reduce(
    (n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v),
    0,
  );
  if (headerBytes >= LIMITS.taskHeaderBytes) {
    throw invalidArgument('task.httpRequest.headers must be less than 80KB.');
  }
  const bodyBytes =
    httpRequest.body === undefined ? 0 : Buffer.from(httpRequest.body, 'base64').length;
  const size = Buffer.byteLength(httpRequest.url) + headerBytes + bodyBytes;
  if (size > LIMITS.taskBytes) {
    throw invalidArgument(
      `Task size is ${size} bytes (url, headers and body); the maximum task size is 1MB (${LIMITS.taskBytes} bytes).`,
    );
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
  return httpRequest;
}

/**
 * The task's schedule time: "If scheduleTime is not set or is in the past
 * then Cloud Tasks will set it to the current time" (CreateTask), and at
 * most 30 days ahead (quotas, "Maximum schedule time for a task").
 */
function scheduleTimeOf(input: Record<string, unknown>, nowMs: number): number {
  if (input.scheduleTime === undefined || input.scheduleTime === null) return nowMs;
  const ms = parseTimestamp(input.scheduleTime, 'scheduleTime');
  if (ms - nowMs > LIMITS.taskScheduleAheadMs) {
    throw invalidArgument(
      `task.scheduleTime ${new Date(ms).toISOString()} is more than 30 days in the future (the maximum schedule time for a task).`,
    );
  }
  return Math.max(ms, nowMs);
}

/** The dispatch deadline in ms: Google's default, within [15 s, 30 min] (rules.minDispatchDeadlineMs below 15 s in tests). */
function dispatchDeadlineOf(input: Record<string, unknown>, rules: TasksRules): number {
  if (input.dispatchDeadline === undefined || input.dispatchDeadline === null) {
    return rules.defaultDispatchDeadlineMs;
  }
  const ms = parseDuration(input.dispatchDeadline, 'dispatchDeadline');
  if (ms < rules.minDispatchDeadlineMs || ms > LIMITS.taskDispatchDeadlineMaxMs) {
    throw invalidArgument(
      `task.dispatchDeadline must be in the interval [${formatDuration(rules.minDispatchDeadlineMs)}, ${formatDuration(LIMITS.taskDispatchDeadlineMaxMs)}] for HTTP tasks; got ${formatDuration(ms)}.`,
    );
  }
  return ms;
}

/**
 * Validates a CreateTask body's `task` into a stored Task. `createTime` "will
 * be truncated to the nearest second" (Task reference), so it is stamped
 * with whole seconds.
 */
export function normalizeNewTask(
  queueName: string,
  input: Record<string, unknown>,
  generatedId: string,
  nowMs: number,
  rules: TasksRules = TASKS_RULES,
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
  const httpRequest = httpRequestOf(input);
  const scheduleMs = scheduleTimeOf(input, nowMs);
  const deadlineMs = dispatchDeadlineOf(input, rules);
  return {
    name,
    httpRequest,
    scheduleTime: new Date(scheduleMs).toISOString(),
    createTime: new Date(Math.floor(nowMs / 1000) * 1000).toISOString(),
    dispatchDeadline: formatDuration(deadlineMs),
    dispatchCount: 0,
    responseCount: 0,
  };
}
