/**
 * Reading workflow executions through the Workflow Executions v1 API with the
 * real `ExecutionsClient` (internal; used by the Workflows adapter and, loaded
 * lazily, by the Cloud Tasks adapter's `executionState`).
 *
 * How an image's execution is found:
 * - executions this package creates directly carry the label
 *   `dispatch_key=<taskNameFor(imageId, generation)>`, so the lookup is one
 *   `list` call with the AIP-160 filter `labels.dispatch_key="…"`
 *   (https://cloud.google.com/workflows/docs/reference/executions/rest/v1/projects.locations.workflows.executions/list);
 * - executions created by Cloud Tasks carry only the argument (the task body
 *   is exactly `{"argument": …}`), so the lookup scans the newest executions
 *   in the FULL view (the BASIC view omits `argument`), bounded to a few
 *   pages, for `file_id == imageId`. The argument has no generation, so this
 *   returns the image's newest execution.
 */
import { ExecutionsClient } from '@google-cloud/workflows';
import { coerceError } from '@slideshow/runtime';
import { type AuthClientLike, clientOptionsFor, dispatchError } from './client-options.ts';
import type { ExecutionState } from './task-dispatcher.ts';

/** Label key set on executions created by the Workflows adapter. */
export const DISPATCH_KEY_LABEL = 'dispatch_key';

/** Execution.State in workflows/executions/v1/executions.proto, by number. */
const STATES = [
  'STATE_UNSPECIFIED',
  'ACTIVE',
  'SUCCEEDED',
  'FAILED',
  'CANCELLED',
  'UNAVAILABLE',
  'QUEUED',
];

/** Where the Executions API is and how to authenticate to it. */
export interface ExecutionsApiOptions {
  project: string;
  location: string;
  workflow: string;
  apiEndpoint?: string;
  authClient?: AuthClientLike;
  /** Fixed bearer token for emulators, when no auth client is given. */
  accessToken?: string;
  /** A file holding that token (see `fileTokenClient`). */
  accessTokenFile?: string;
  /** Per-call timeout (default 30 s). */
  callTimeoutMs?: number;
}

/** A thin wrapper over `ExecutionsClient` for one workflow. */
export interface ExecutionsApi {
  readonly client: ExecutionsClient;
  /** `projects/P/locations/L/workflows/W`. */
  readonly parent: string;
  readonly timeout: number;
  findByLabel(key: string, value: string): Promise<ExecutionState | undefined>;
  findByFileId(imageId: string, maxPages?: number): Promise<ExecutionState | undefined>;
  close(): Promise<void>;
}

type RawExecution = {
  name?: string | null;
  state?: unknown;
  startTime?: unknown;
  endTime?: unknown;
  argument?: string | null;
  error?: { payload?: string | null } | null;
};

function timestampToIso(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && 'seconds' in value) {
    const { seconds, nanos } = value as { seconds: unknown; nanos?: unknown };
    const ms = Number(seconds) * 1000 + Math.floor(Number(nanos ?? 0) / 1e6);
    return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
  }
  return undefined;
}

/** Converts the client's Execution message to the port's ExecutionState. */
export function toExecutionState(execution: RawExecution): ExecutionState {
  const raw = execution.state;
  const state =
    typeof raw === 'number'
      ? (STATES[raw] ?? String(raw))
      : typeof raw === 'string'
        ? raw
        : 'STATE_UNSPECIFIED';
  const out: ExecutionState = { name: execution.name ?? '', state };
  const startTime = timestampToIso(execution.startTime);
  const endTime = timestampToIso(execution.endTime);
  if (startTime !== undefined) out.startTime = startTime;
  if (endTime !== undefined) out.endTime = endTime;
  if (execution.error?.payload) out.error = execution.error.payload;
  return out;
}

function argumentFileId(argument: string | null | undefined): string | undefined {
  if (!argument) return undefined;
  try {
    const parsed: unknown = JSON.parse(argument);
    if (parsed !== null && typeof parsed === 'object' && 'file_id' in parsed) {
      const id = (parsed as { file_id: unknown }).file_id;
      return typeof id === 'string' ? id : undefined;
    }
  } catch (error) {
    // Another caller's execution with a non-JSON argument: not ours, so skip it.
    coerceError(error);
  }
  return undefined;
}

/**
 * The most recently started of `executions`, by start time rather than list
 * position, so an emulator listing oldest first still gives the right answer.
 */
function newest(executions: RawExecution[]): ExecutionState | undefined {
  let best: ExecutionState | undefined;
  for (const execution of executions) {
    const state = toExecutionState(execution);
    if (best === undefined || (state.startTime ?? '') > (best.startTime ?? '')) best = state;
  }
  return best;
}

/** Creates the wrapper; no network until a method is called. */
export function createExecutionsApi(options: ExecutionsApiOptions): ExecutionsApi {
  const client = new ExecutionsClient(
    // google-gax types its own copy of google-auth-library; the runtime contract is the same.
    clientOptionsFor(
      options.apiEndpoint,
      options.authClient,
      options.accessToken,
      options.accessTokenFile,
    ) as ConstructorParameters<typeof ExecutionsClient>[0],
  );
  const parent = client.workflowPath(options.project, options.location, options.workflow);
  const timeout = options.callTimeoutMs ?? 30_000;
  const context = { workflow: parent };
  return {
    client,
    parent,
    timeout,
    async findByLabel(key, value) {
      try {
        const [executions] = await client.listExecutions(
          {
            parent,
            pageSize: 10,
            view: 'FULL',
            filter: `labels.${key}="${value}"`,
            orderBy: 'startTime desc',
          },
          { timeout, autoPaginate: false },
        );
        // The labels are checked again: an emulator that ignores the filter must not make
        // every image look already dispatched.
        return newest(executions.filter((e) => e.labels?.[key] === value));
      } catch (error) {
        throw dispatchError(error, 'listing workflow executions', context);
      }
    },
    async findByFileId(imageId, maxPages = 3) {
      let pageToken: string | undefined;
      try {
        for (let page = 0; page < maxPages; page += 1) {
          const [executions, , response] = await client.listExecutions(
            { parent, pageSize: 100, view: 'FULL', pageToken: pageToken ?? '' },
            { timeout, autoPaginate: false },
          );
          // Google lists newest first, so the first page with a match holds the latest one.
          const match = newest(executions.filter((e) => argumentFileId(e.argument) === imageId));
          if (match !== undefined) return match;
          pageToken = response?.nextPageToken ?? undefined;
          if (!pageToken) return undefined;
        }
        return undefined;
      } catch (error) {
        throw dispatchError(error, 'listing workflow executions', context);
      }
    },
    close: () => client.close(),
  };
}
