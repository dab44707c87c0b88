/**
 * The Cloud Tasks TaskDispatcher (production, and local through local-cloud):
 * one HTTP-target task per image generation whose request creates a workflow
 * execution through the Workflow Executions API. Uses the real
 * `@google-cloud/tasks` client; with an `http://` `apiEndpoint` it talks REST
 * to an emulator with no credentials.
 */
import { CloudTasksClient } from '@google-cloud/tasks';
import { type Logger, silentLogger } from '@slideshow/runtime';
import {
  ALREADY_EXISTS,
  type AuthClientLike,
  clientOptionsFor,
  dispatchError,
  grpcCode,
  NOT_FOUND,
} from './client-options.ts';
import { DISPATCH_KEY_LABEL, type ExecutionsApi, timestampToIso } from './executions.ts';
import {
  assertArgumentSize,
  assertDispatchKey,
  type DispatchRequest,
  type DispatchResult,
  type ExecutionState,
  imageLogFields,
  type QueueName,
  type TaskCancellation,
  type TaskDispatcher,
  type TaskState,
} from './task-dispatcher.ts';

/** Options for {@link createCloudTasksDispatcher}. */
export interface CloudTasksDispatcherOptions {
  project: string;
  location: string;
  /** Queue ids (not full names) per logical queue. */
  queues: Record<QueueName, string>;
  /** Workflow id the tasks start executions of. */
  workflow: string;
  /** Default `https://workflowexecutions.googleapis.com`; local-cloud's URL locally. */
  executionsBaseUrl?: string;
  /** Service account whose OAuth token Cloud Tasks attaches (needs roles/workflows.invoker). */
  serviceAccountEmail: string;
  /** How long Cloud Tasks waits for the Executions API to answer (15–1800 s; default 60). */
  dispatchDeadlineSeconds?: number;
  /** Cloud Tasks endpoint, e.g. `http://127.0.0.1:8123` for local-cloud; default Google's. */
  apiEndpoint?: string;
  /** Auth client for the Cloud Tasks API; default ADC, or none for an http:// endpoint. */
  authClient?: AuthClientLike;
  /**
   * A fixed bearer token instead of an auth client, for emulators (local-cloud's
   * OAuth stand-in). Also used for the Executions API lookups of `executionState`.
   */
  accessToken?: string;
  /** A file holding that token, read when needed (local-cloud's `<data dir>/local-cloud.token`). */
  accessTokenFile?: string;
  logger?: Logger;
  /** Per-call timeout in ms (default 30 s). */
  callTimeoutMs?: number;
}

const DEFAULT_EXECUTIONS_BASE_URL = 'https://workflowexecutions.googleapis.com';
const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/**
 * The task body: the Executions API's `Execution` resource with `argument` and
 * the label `dispatch_key=<key>`, so the execution this task creates can be
 * found again by its key (`executionState`, the backend's reaper).
 */
export function executionRequestBody(request: DispatchRequest): Buffer {
  // `argument` is a JSON *string* inside the JSON body; label values are at most 63 of
  // a-z 0-9 _ - (https://cloud.google.com/workflows/docs/reference/executions/rest/v1/projects.locations.workflows.executions#Execution.FIELDS.argument,
  // …#Execution.FIELDS.labels), which dispatch keys are.
  return Buffer.from(
    JSON.stringify({
      argument: JSON.stringify(request.argument),
      labels: { [DISPATCH_KEY_LABEL]: request.key },
    }),
    'utf8',
  );
}

type RawAttempt = { dispatchTime?: unknown; responseTime?: unknown; responseStatus?: unknown };

/** Converts the client's Task message to the port's TaskState. */
export function toTaskState(task: {
  name?: string | null;
  scheduleTime?: unknown;
  createTime?: unknown;
  dispatchCount?: unknown;
  responseCount?: unknown;
  firstAttempt?: RawAttempt | null;
  lastAttempt?: RawAttempt | null;
}): TaskState {
  const out: TaskState = {
    name: task.name ?? '',
    dispatchCount: Number(task.dispatchCount ?? 0) || 0,
    responseCount: Number(task.responseCount ?? 0) || 0,
  };
  const scheduleTime = timestampToIso(task.scheduleTime);
  const createTime = timestampToIso(task.createTime);
  const firstDispatchTime = timestampToIso(task.firstAttempt?.dispatchTime);
  if (scheduleTime !== undefined) out.scheduleTime = scheduleTime;
  if (createTime !== undefined) out.createTime = createTime;
  if (firstDispatchTime !== undefined) out.firstDispatchTime = firstDispatchTime;
  const last = task.lastAttempt;
  if (last) {
    const attempt: NonNullable<TaskState['lastAttempt']> = {};
    const dispatchTime = timestampToIso(last.dispatchTime);
    const responseTime = timestampToIso(last.responseTime);
    const code = (last.responseStatus as { code?: unknown } | null | undefined)?.code;
    if (dispatchTime !== undefined) attempt.dispatchTime = dispatchTime;
    if (responseTime !== undefined) attempt.responseTime = responseTime;
    if (typeof code === 'number') attempt.responseCode = code;
    out.lastAttempt = attempt;
  }
  return out;
}

/**
 * Checks the options the dispatcher cannot work without (one message format:
 * "Expected X for name but received Y of type Z") and returns the dispatch
 * deadline in seconds.
 */
function checkedDeadline(options: CloudTasksDispatcherOptions): number {
  const deadline = options.dispatchDeadlineSeconds ?? 60;
  if (!Number.isInteger(deadline) || deadline < 15 || deadline > 1800) {
    // Cloud Tasks' own bounds for HTTP targets (https://cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues.tasks#Task.FIELDS.dispatch_deadline).
    throw new TypeError(
      `Expected an integer between 15 and 1800 for dispatchDeadlineSeconds but received ${String(deadline)} of type ${typeof deadline}`,
    );
  }
  for (const key of ['project', 'location', 'workflow', 'serviceAccountEmail'] as const) {
    const value: unknown = options[key];
    if (typeof value !== 'string' || value === '') {
      throw new TypeError(
        `Expected a non-empty string for ${key} but received ${String(value)} of type ${typeof value}`,
      );
    }
  }
  return deadline;
}

/**
 * The HTTP-target task that creates one workflow execution for `request`:
 * POST to the Executions API with the service account's OAuth token.
 */
function executionTask(
  name: string,
  request: DispatchRequest,
  target: { url: string; serviceAccountEmail: string; deadlineSeconds: number },
) {
  return {
    name,
    dispatchDeadline: { seconds: target.deadlineSeconds },
    httpRequest: {
      httpMethod: 'POST' as const,
      url: target.url,
      headers: { 'Content-Type': 'application/json' },
      body: executionRequestBody(request),
      // OAuth, not OIDC: "OAuth tokens should generally only be used when calling
      // Google APIs hosted on *.googleapis.com"; OIDC tokens are for other targets
      // such as Cloud Run (https://cloud.google.com/tasks/docs/reference/rest/v2/OAuthToken,
      // https://cloud.google.com/tasks/docs/creating-http-target-tasks#token).
      oauthToken: { serviceAccountEmail: target.serviceAccountEmail, scope: CLOUD_PLATFORM_SCOPE },
    },
  };
}

/** The Cloud Tasks queue id configured for a logical queue. */
function queueIdOf(queues: Record<QueueName, string>, name: QueueName): string {
  const queue = queues[name];
  if (queue === undefined) {
    throw new TypeError(
      `Expected 'uploads' or 'ingest' for queue but received ${String(name)} of type ${typeof name}`,
    );
  }
  return queue;
}

/** The Cloud Tasks v2 client for an endpoint and its credentials; it connects on its first call. */
function tasksClient(
  options: Pick<
    CloudTasksDispatcherOptions,
    'apiEndpoint' | 'authClient' | 'accessToken' | 'accessTokenFile'
  >,
): CloudTasksClient {
  return new CloudTasksClient(
    clientOptionsFor(
      options.apiEndpoint,
      options.authClient,
      options.accessToken,
      options.accessTokenFile,
    ) as ConstructorParameters<typeof CloudTasksClient>[0],
  );
}

/** Creates the dispatcher; the client connects lazily on the first call. */
export function createCloudTasksDispatcher(options: CloudTasksDispatcherOptions): TaskDispatcher {
  const deadline = checkedDeadline(options);
  const logger = options.logger ?? silentLogger;
  const timeout = options.callTimeoutMs ?? 30_000;
  const client = tasksClient(options);
  const executionsBaseUrl = (options.executionsBaseUrl ?? DEFAULT_EXECUTIONS_BASE_URL).replace(
    /\/+$/,
    '',
  );
  const executionsUrl = `${executionsBaseUrl}/v1/projects/${options.project}/locations/${options.location}/workflows/${options.workflow}/executions`;
  let executions: Promise<ExecutionsApi> | undefined;

  const executionsApi = (): Promise<ExecutionsApi> => {
    // Loaded on first use so a dispatch-only backend never loads the Workflows client.
    executions ??= import('./executions.ts').then(({ createExecutionsApi }) =>
      createExecutionsApi({
        project: options.project,
        location: options.location,
        workflow: options.workflow,
        apiEndpoint: executionsBaseUrl,
        callTimeoutMs: timeout,
        ...(options.authClient === undefined ? {} : { authClient: options.authClient }),
        ...(options.accessToken === undefined ? {} : { accessToken: options.accessToken }),
        ...(options.accessTokenFile === undefined
          ? {}
          : { accessTokenFile: options.accessTokenFile }),
      }),
    );
    return executions;
  };

  const queueId = (name: QueueName) => queueIdOf(options.queues, name);

  return {
    async dispatch(request: DispatchRequest): Promise<DispatchResult> {
      assertDispatchKey(request.key);
      assertArgumentSize(request.argument);
      const queue = queueId(request.queue);
      const taskName = client.taskPath(options.project, options.location, queue, request.key);
      const context = { key: request.key, taskName };
      const logged = { dispatchKey: request.key, taskName, ...imageLogFields(request.argument) };
      try {
        await client.createTask(
          {
            parent: client.queuePath(options.project, options.location, queue),
            task: executionTask(taskName, request, {
              url: executionsUrl,
              serviceAccountEmail: options.serviceAccountEmail,
              deadlineSeconds: deadline,
            }),
          },
          { timeout },
        );
        logger.debug('task created', logged);
        return { taskName, alreadyExisted: false };
      } catch (error) {
        if (grpcCode(error) === ALREADY_EXISTS) {
          logger.debug('task already existed', logged);
          return { taskName, alreadyExisted: true };
        }
        throw dispatchError(error, 'Cloud Tasks createTask', context);
      }
    },

    async taskState(key: string, queue: QueueName): Promise<TaskState | undefined> {
      assertDispatchKey(key);
      const name = client.taskPath(options.project, options.location, queueId(queue), key);
      try {
        // BASIC view: everything but the request body.
        const [task] = await client.getTask({ name, responseView: 'BASIC' }, { timeout });
        return toTaskState(task);
      } catch (error) {
        // Cloud Tasks deletes a task once it succeeded or ran out of retries.
        if (grpcCode(error) === NOT_FOUND) return undefined;
        throw dispatchError(error, 'Cloud Tasks getTask', { key, taskName: name });
      }
    },

    async executionState(key: string): Promise<ExecutionState | undefined> {
      assertDispatchKey(key);
      const api = await executionsApi();
      return api.findByLabel(DISPATCH_KEY_LABEL, key);
    },

    async close() {
      await client.close();
      if (executions !== undefined) await (await executions).close();
    },
  };
}

/** Options for {@link createCloudTasksCancellation}: the dispatcher's queue and connection settings. */
export type CloudTasksCancellationOptions = Pick<
  CloudTasksDispatcherOptions,
  | 'project'
  | 'location'
  | 'queues'
  | 'apiEndpoint'
  | 'authClient'
  | 'accessToken'
  | 'accessTokenFile'
  | 'logger'
> & {
  /** Longest wait for one `tasks.delete`, retries included (default {@link CANCEL_TIMEOUT_MS}). */
  callTimeoutMs?: number;
};

/**
 * Default bound of one cancellation. A cancellation is best effort and runs
 * while an admin waits for a delete, so it gets one attempt (no gax retries:
 * the client would retry UNAVAILABLE for up to 600 s) within a few seconds;
 * a task it could not remove only costs the run it would have cost anyway.
 */
export const CANCEL_TIMEOUT_MS = 5_000;

/**
 * The TaskCancellation port through the real client: `tasks.delete`
 * (https://cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues.tasks/delete),
 * which "deletes a task. A task can be deleted if it is scheduled or
 * dispatched"; NOT_FOUND means the task is gone already (its request
 * succeeded, so the execution exists, or its retries ran out). Needs
 * `cloudtasks.tasks.delete` on the queues.
 */
export function createCloudTasksCancellation(
  options: CloudTasksCancellationOptions,
): TaskCancellation {
  for (const key of ['project', 'location'] as const) {
    const value: unknown = options[key];
    if (typeof value !== 'string' || value === '') {
      throw new TypeError(
        `Expected a non-empty string for ${key} but received ${String(value)} of type ${typeof value}`,
      );
    }
  }
  const logger = options.logger ?? silentLogger;
  const timeout = options.callTimeoutMs ?? CANCEL_TIMEOUT_MS;
  const client = tasksClient(options);
  return {
    async cancel(key, queue) {
      assertDispatchKey(key);
      const taskName = client.taskPath(
        options.project,
        options.location,
        queueIdOf(options.queues, queue),
        key,
      );
      try {
        // `retry: null`: one attempt, bounded by `timeout` (gax CallSettings.merge).
        await client.deleteTask({ name: taskName }, { timeout, retry: null });
        logger.debug('task deleted', { key, taskName });
        return true;
      } catch (error) {
        if (grpcCode(error) === NOT_FOUND) return false;
        throw dispatchError(error, 'Cloud Tasks deleteTask', { key, taskName });
      }
    },
    async close() {
      await client.close();
    },
  };
}
