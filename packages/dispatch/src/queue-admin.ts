/**
 * The QueueAdmin port: what the admin console's jobs page needs from the
 * queues behind the dispatcher — each queue's state and depth, and pausing or
 * resuming its dispatch (the calls behind `gcloud tasks queues describe`,
 * `pause` and `resume`). No SDK is imported here; each adapter has its own
 * subpath (`@slideshow/dispatch/queue-admin/cloud-tasks`, `…/dry-run`).
 */
import type { QueueName } from './task-dispatcher.ts';

/** Queue states as Cloud Tasks names them (`Queue.state`). */
export type QueueState = 'RUNNING' | 'PAUSED' | 'DISABLED' | (string & {});

/**
 * One queue at one moment. The counts are Cloud Tasks' `QueueStats`
 * estimates (https://cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues#QueueStats);
 * `null` where the service did not report a figure.
 */
export interface QueueSnapshot {
  /** The logical queue (`uploads` or `ingest`). */
  queue: QueueName;
  /** Full resource name `projects/P/locations/L/queues/Q`. */
  name: string;
  state: QueueState;
  /** Tasks not yet executed, in flight, or being retried. */
  tasksCount: number | null;
  /** Dispatched and not yet answered. */
  concurrentDispatchesCount: number | null;
  /** Dispatched and answered during the last minute. */
  executedLastMinuteCount: number | null;
  /** When the next task is due (ISO-8601), or null when the queue is empty. */
  oldestEstimatedArrivalTime: string | null;
}

/** Reads and pauses/resumes the dispatcher's queues. */
export interface QueueAdmin {
  /** The queue's state and statistics. */
  describe(queue: QueueName): Promise<QueueSnapshot>;
  /** Stops dispatching; tasks stay and can still be added (`queues.pause`). */
  pause(queue: QueueName): Promise<QueueSnapshot>;
  /** Dispatches again (`queues.resume`). */
  resume(queue: QueueName): Promise<QueueSnapshot>;
  /** Releases clients and sockets. */
  close?(): Promise<void>;
}
