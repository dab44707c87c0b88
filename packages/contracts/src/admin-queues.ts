import * as z from 'zod';

/**
 * One queue at one moment (`QueueSnapshot` of `@slideshow/dispatch/queue-admin`,
 * which owns the queue names, `QUEUES`). The counts are Cloud Tasks'
 * `QueueStats` estimates, null where the service reported no figure.
 */
export const AdminQueue = z.object({
  /** The logical queue (`uploads` or `ingest`). */
  queue: z.string(),
  /** Full resource name `projects/P/locations/L/queues/Q`. */
  name: z.string(),
  /** `RUNNING`, `PAUSED`, `DISABLED`, … as Cloud Tasks names them. */
  state: z.string(),
  tasksCount: z.number().nullable(),
  concurrentDispatchesCount: z.number().nullable(),
  executedLastMinuteCount: z.number().nullable(),
  /** When the next task is due (ISO 8601), or null when the queue is empty. */
  oldestEstimatedArrivalTime: z.string().nullable(),
});
export type AdminQueue = z.infer<typeof AdminQueue>;

/** A queue the backend could not describe: its coded error (the other queue still shows). */
export const AdminQueueError = z.object({
  queue: z.string(),
  error: z.object({ code: z.string(), message: z.string() }),
});
export type AdminQueueError = z.infer<typeof AdminQueueError>;

/** The outbox: dispatches the backend holds before a task exists. */
export const OutboxDepth = z.object({
  pending: z.number().int().nonnegative(),
  /** Age of the oldest pending row; null when there is none. */
  oldestAgeSeconds: z.number().nonnegative().nullable(),
});
export type OutboxDepth = z.infer<typeof OutboxDepth>;

/**
 * `GET /api/admin/queues`: each queue, and the outbox. Without a queue admin
 * (images go straight to Workflows) `queues` is empty and `note` says why.
 */
export const QueuesAnswer = z.object({
  outbox: OutboxDepth,
  queues: z.array(z.union([AdminQueue, AdminQueueError])),
  note: z.string().optional(),
});
export type QueuesAnswer = z.infer<typeof QueuesAnswer>;

/** `POST /api/admin/queues/:queue/pause` and `…/resume`: the queue described again. */
export const QueueAnswer = z.object({ queue: AdminQueue });
export type QueueAnswer = z.infer<typeof QueueAnswer>;
