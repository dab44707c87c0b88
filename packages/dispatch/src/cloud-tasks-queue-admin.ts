/**
 * The Cloud Tasks QueueAdmin through the real `@google-cloud/tasks` client:
 * `queues.pause` and `queues.resume` of the v2 API (what `gcloud tasks queues
 * pause/resume` calls), and the queue's statistics from v2beta3's `queues.get`
 * with a `readMask` naming `stats` — the v2 `Queue` has no `stats` field and
 * v2's `GetQueueRequest` no `readMask` (both only in v2beta2/v2beta3, same
 * queues: https://cloud.google.com/tasks/docs/reference/rest/v2beta3/projects.locations.queues/get).
 * With an `http://` `apiEndpoint` it talks REST to an emulator (local-cloud),
 * sending the emulator's token (`accessToken` / `accessTokenFile`) when given.
 */
import { CloudTasksClient, v2beta3 } from '@google-cloud/tasks';
import { type AuthClientLike, clientOptionsFor, dispatchError } from './client-options.ts';
import type { QueueAdmin, QueueSnapshot } from './queue-admin.ts';
import type { QueueName } from './task-dispatcher.ts';

/** Options for {@link createCloudTasksQueueAdmin}. */
export interface CloudTasksQueueAdminOptions {
  project: string;
  location: string;
  /** Queue ids (not full names) per logical queue. */
  queues: Record<QueueName, string>;
  /** Cloud Tasks endpoint, e.g. `http://127.0.0.1:8123` for local-cloud; default Google's. */
  apiEndpoint?: string;
  /** Auth client; default ADC, or none for an http:// endpoint. */
  authClient?: AuthClientLike;
  /** A fixed bearer token instead of an auth client (emulators). */
  accessToken?: string;
  /** A file holding that token, read when needed (local-cloud's `<data dir>/local-cloud.token`). */
  accessTokenFile?: string;
  /** Per-call timeout in ms (default 15 s). */
  callTimeoutMs?: number;
}

// https://cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues#State
const STATES = ['STATE_UNSPECIFIED', 'RUNNING', 'PAUSED', 'DISABLED'] as const;

/** int64 fields arrive as a number, a decimal string or a Long, depending on the transport. */
function count(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  const n = Number(typeof value === 'object' ? String(value) : value);
  return Number.isFinite(n) ? n : null;
}

/** A protobuf Timestamp (`{seconds, nanos}`) or an RFC 3339 string, as ISO-8601. */
function timestamp(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value === '' ? null : new Date(value).toISOString();
  const { seconds, nanos } = value as { seconds?: unknown; nanos?: unknown };
  const s = count(seconds);
  if (s === null || s === 0) return null;
  return new Date(s * 1000 + Math.floor((count(nanos) ?? 0) / 1e6)).toISOString();
}

interface QueueMessage {
  name?: string | null;
  state?: unknown;
  stats?: {
    tasksCount?: unknown;
    concurrentDispatchesCount?: unknown;
    executedLastMinuteCount?: unknown;
    oldestEstimatedArrivalTime?: unknown;
  } | null;
}

function snapshotOf(queue: QueueName, name: string, message: QueueMessage): QueueSnapshot {
  const state =
    typeof message.state === 'number'
      ? (STATES[message.state] ?? 'STATE_UNSPECIFIED')
      : message.state;
  const stats = message.stats ?? {};
  return {
    queue,
    name: message.name || name,
    state: typeof state === 'string' ? state : 'STATE_UNSPECIFIED',
    tasksCount: count(stats.tasksCount) ?? (message.stats ? 0 : null),
    concurrentDispatchesCount: count(stats.concurrentDispatchesCount) ?? (message.stats ? 0 : null),
    executedLastMinuteCount: count(stats.executedLastMinuteCount) ?? (message.stats ? 0 : null),
    oldestEstimatedArrivalTime: timestamp(stats.oldestEstimatedArrivalTime),
  };
}

/** Creates the queue admin; the client connects lazily on the first call. */
export function createCloudTasksQueueAdmin(options: CloudTasksQueueAdminOptions): QueueAdmin {
  for (const key of ['project', 'location'] as const) {
    const value: unknown = options[key];
    if (typeof value !== 'string' || value === '') {
      throw new TypeError(
        `Expected a non-empty string for ${key} but received ${String(value)} of type ${typeof value}`,
      );
    }
  }
  const timeout = options.callTimeoutMs ?? 15_000;
  const clientOptions = clientOptionsFor(
    options.apiEndpoint,
    options.authClient,
    options.accessToken,
    options.accessTokenFile,
  ) as ConstructorParameters<typeof CloudTasksClient>[0];
  const client = new CloudTasksClient(clientOptions);
  const beta = new v2beta3.CloudTasksClient(clientOptions);
  const nameOf = (queue: QueueName): string => {
    const id = options.queues[queue];
    if (id === undefined) {
      throw new TypeError(
        `Expected 'uploads' or 'ingest' for queue but received ${String(queue)} of type ${typeof queue}`,
      );
    }
    return client.queuePath(options.project, options.location, id);
  };
  // A proto3 FieldMask of the fields the page shows; `stats` must be named to be returned
  // (https://cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues/get).
  const readMask = { paths: ['name', 'state', 'stats'] };

  return {
    async describe(queue) {
      const name = nameOf(queue);
      try {
        const [message] = await beta.getQueue({ name, readMask }, { timeout });
        return snapshotOf(queue, name, message as QueueMessage);
      } catch (error) {
        throw dispatchError(error, 'Cloud Tasks getQueue', { queue: name });
      }
    },
    async pause(queue) {
      const name = nameOf(queue);
      try {
        const [message] = await client.pauseQueue({ name }, { timeout });
        return snapshotOf(queue, name, message as QueueMessage);
      } catch (error) {
        throw dispatchError(error, 'Cloud Tasks pauseQueue', { queue: name });
      }
    },
    async resume(queue) {
      const name = nameOf(queue);
      try {
        const [message] = await client.resumeQueue({ name }, { timeout });
        return snapshotOf(queue, name, message as QueueMessage);
      } catch (error) {
        throw dispatchError(error, 'Cloud Tasks resumeQueue', { queue: name });
      }
    },
    async close() {
      await Promise.all([client.close(), beta.close()]);
    },
  };
}
