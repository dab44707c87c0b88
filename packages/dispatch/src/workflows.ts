/**
 * The direct Workflows TaskDispatcher: creates the workflow execution itself
 * with `@google-cloud/workflows`' `ExecutionsClient`, no queue in between.
 * For low volume or projects without Cloud Tasks; there is no rate limiting
 * and no retry of the creation beyond the caller's (the outbox relay's).
 *
 * Idempotency: the Executions API has no request id, so each execution gets
 * the label `dispatch_key=<key>` and `dispatch` first looks for an execution
 * with that label; one found counts as `alreadyExisted`. Two concurrent
 * dispatches of the same key can both miss and create two executions; the
 * backend's generation guard (docs/architecture.md#image-states) makes the second harmless.
 * `executionState` is the same label lookup. There is no queue, so there is
 * no `taskState`: a dispatch is never waiting.
 */
import { type Logger, silentLogger } from '@slideshow/runtime';
import { type AuthClientLike, dispatchError } from './client-options.ts';
import { createExecutionsApi, DISPATCH_KEY_LABEL } from './executions.ts';
import {
  assertArgumentSize,
  assertDispatchKey,
  type DispatchRequest,
  type DispatchResult,
  type ExecutionState,
  imageLogFields,
  type TaskDispatcher,
} from './task-dispatcher.ts';

/** Options for {@link createWorkflowsDispatcher}. */
export interface WorkflowsDispatcherOptions {
  project: string;
  location: string;
  /** Workflow id, e.g. `process-image`. */
  workflow: string;
  /** Executions API endpoint, e.g. `http://127.0.0.1:8123` for local-cloud; default Google's. */
  apiEndpoint?: string;
  /** Default ADC, or none for an http:// endpoint. */
  authClient?: AuthClientLike;
  /** A fixed bearer token instead of an auth client, for emulators (local-cloud's OAuth stand-in). */
  accessToken?: string;
  /** A file holding that token, read when needed (local-cloud's `<data dir>/local-cloud.token`). */
  accessTokenFile?: string;
  logger?: Logger;
  /** Per-call timeout in ms (default 30 s). */
  callTimeoutMs?: number;
}

/** Creates the dispatcher; the client connects lazily on the first call. */
export function createWorkflowsDispatcher(options: WorkflowsDispatcherOptions): TaskDispatcher {
  for (const key of ['project', 'location', 'workflow'] as const) {
    const value: unknown = options[key];
    if (typeof value !== 'string' || value === '') {
      throw new TypeError(
        `Expected a non-empty string for ${key} but received ${String(value)} of type ${typeof value}`,
      );
    }
  }
  const logger = options.logger ?? silentLogger;
  const api = createExecutionsApi({
    project: options.project,
    location: options.location,
    workflow: options.workflow,
    ...(options.apiEndpoint === undefined ? {} : { apiEndpoint: options.apiEndpoint }),
    ...(options.authClient === undefined ? {} : { authClient: options.authClient }),
    ...(options.accessToken === undefined ? {} : { accessToken: options.accessToken }),
    ...(options.accessTokenFile === undefined ? {} : { accessTokenFile: options.accessTokenFile }),
    ...(options.callTimeoutMs === undefined ? {} : { callTimeoutMs: options.callTimeoutMs }),
  });

  return {
    async dispatch(request: DispatchRequest): Promise<DispatchResult> {
      assertDispatchKey(request.key);
      assertArgumentSize(request.argument);
      const key = request.key;
      const context = { dispatchKey: key };
      const logged = { ...context, ...imageLogFields(request.argument) };
      const existing = await api.findByLabel(DISPATCH_KEY_LABEL, key);
      if (existing !== undefined) {
        logger.debug('workflow execution already existed', {
          ...logged,
          execution: existing.name,
        });
        return { taskName: existing.name, alreadyExisted: true };
      }
      try {
        const [execution] = await api.client.createExecution(
          {
            parent: api.parent,
            execution: {
              argument: JSON.stringify(request.argument),
              labels: { [DISPATCH_KEY_LABEL]: key },
            },
          },
          { timeout: api.timeout },
        );
        const name = execution.name ?? '';
        logger.debug('workflow execution created', { ...logged, execution: name });
        return { taskName: name, alreadyExisted: false };
      } catch (error) {
        throw dispatchError(error, 'Workflows createExecution', context);
      }
    },

    async executionState(key: string): Promise<ExecutionState | undefined> {
      assertDispatchKey(key);
      return api.findByLabel(DISPATCH_KEY_LABEL, key);
    },

    close: () => api.close(),
  };
}
