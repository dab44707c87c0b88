/**
 * Reading workflow executions through the Workflow Executions v1 API with the
 * real `ExecutionsClient` (internal; used by the Workflows adapter and, loaded
 * lazily, by the Cloud Tasks adapter's `executionState`).
 *
 * How a dispatch's execution is found: every execution this package creates,
 * directly or through a Cloud Tasks task body, carries the label
 * `dispatch_key=<key>` (the dispatch key: `taskNameFor(imageId, generation)`,
 * or a batch's `batchTaskNameFor`), so the lookup is one `list` call with the
 * AIP-160 filter `labels.dispatch_key="…"` ("label" is among the fields the
 * filter supports:
 * https://cloud.google.com/workflows/docs/reference/executions/rest/v1/projects.locations.workflows.executions/list).
 */
import { ExecutionsClient } from '@google-cloud/workflows';
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
  /** The execution labelled `key=value` that is still running, else the newest; undefined when none. */
  findByLabel(key: string, value: string): Promise<ExecutionState | undefined>;
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

/** A protobuf Timestamp (`{seconds, nanos}`) or RFC 3339 string as an ISO string. */
export function timestampToIso(value: unknown): string | undefined {
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

/** States of an execution still at work. */
const RUNNING = new Set(['ACTIVE', 'QUEUED']);

/**
 * The execution that says most about one dispatch: a running one if any (a
 * task delivered twice creates two executions, and the newer may end, having
 * found the image taken, while the older still works on it), else the most
 * recently started, by start time rather than list position, so an emulator
 * listing oldest first still gives the right answer.
 */
function mostTelling(executions: RawExecution[]): ExecutionState | undefined {
  let best: ExecutionState | undefined;
  for (const execution of executions) {
    const state = toExecutionState(execution);
    const running = RUNNING.has(state.state);
    const bestRunning = best !== undefined && RUNNING.has(best.state);
    if (
      best === undefined ||
      (running && !bestRunning) ||
      (running === bestRunning && (state.startTime ?? '') > (best.startTime ?? ''))
    ) {
      best = state;
    }
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
        return mostTelling(executions.filter((e) => e.labels?.[key] === value));
      } catch (error) {
        throw dispatchError(error, 'listing workflow executions', context);
      }
    },
    close: () => client.close(),
  };
}
