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
} from './client-options.ts';
import type { ExecutionsApi } from './executions.ts';
import {
  type DispatchRequest,
  type DispatchResult,
  type ExecutionState,
  type QueueName,
  type TaskDispatcher,
  taskNameFor,
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

/** The task body: the Executions API's `Execution` resource with only `argument` set. */
export function executionRequestBody(request: DispatchRequest): Buffer {
  // `argument` is a JSON *string* inside the JSON body
  // (https://cloud.google.com/workflows/docs/reference/executions/rest/v1/projects.locations.workflows.executions#Execution.FIELDS.argument).
  return Buffer.from(JSON.stringify({ argument: JSON.stringify(request.argument) }), 'utf8');
}

/** Creates the dispatcher; the client connects lazily on the first call. */
export function createCloudTasksDispatcher(options: CloudTasksDispatcherOptions): TaskDispatcher {
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
  const logger = options.logger ?? silentLogger;
  const timeout = options.callTimeoutMs ?? 30_000;
  const client = new CloudTasksClient(
    clientOptionsFor(
      options.apiEndpoint,
      options.authClient,
      options.accessToken,
      options.accessTokenFile,
    ) as ConstructorParameters<typeof CloudTasksClient>[0],
  );
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

  return {
    async dispatch(request: DispatchRequest): Promise<DispatchResult> {
      const queue = options.queues[request.queue];
      if (queue === undefined) {
        throw new TypeError(
          `Expected 'uploads' or 'ingest' for queue but received ${String(request.queue)} of type ${typeof request.queue}`,
        );
      }
      const taskName = client.taskPath(
        options.project,
        options.location,
        queue,
        taskNameFor(request.imageId, request.generation),
      );
      const context = { imageId: request.imageId, generation: request.generation, taskName };
      try {
        await client.createTask(
          {
            parent: client.queuePath(options.project, options.location, queue),
            task: {
              name: taskName,
              dispatchDeadline: { seconds: deadline },
              httpRequest: {
                httpMethod: 'POST',
                url: executionsUrl,
                headers: { 'Content-Type': 'application/json' },
                body: executionRequestBody(request),
                // OAuth, not OIDC: "OAuth tokens should generally only be used when calling
                // Google APIs hosted on *.googleapis.com"; OIDC tokens are for other targets
                // such as Cloud Run (https://cloud.google.com/tasks/docs/reference/rest/v2/OAuthToken,
                // https://cloud.google.com/tasks/docs/creating-http-target-tasks#token).
                oauthToken: {
                  serviceAccountEmail: options.serviceAccountEmail,
                  scope: CLOUD_PLATFORM_SCOPE,
                },
              },
            },
          },
          { timeout },
        );
        logger.debug('task created', context);
        return { taskName, alreadyExisted: false };
      } catch (error) {
        if (grpcCode(error) === ALREADY_EXISTS) {
          logger.debug('task already existed', context);
          return { taskName, alreadyExisted: true };
        }
        throw dispatchError(error, 'Cloud Tasks createTask', context);
      }
    },

    async executionState(imageId: string, generation: number): Promise<ExecutionState | undefined> {
      // Cloud Tasks creates the execution with the argument only, so the lookup is by
      // file_id and returns the image's newest execution (see executions.ts).
      void generation;
      const api = await executionsApi();
      return api.findByFileId(imageId);
    },

    async close() {
      await client.close();
      if (executions !== undefined) await (await executions).close();
    },
  };
}
