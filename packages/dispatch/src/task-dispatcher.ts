/**
 * The TaskDispatcher port: how the backend hands one image (or a batch) to
 * the processing pipeline. No cloud SDK is imported here, so the backend can
 * depend on the port without loading `@google-cloud/*`; each adapter lives in
 * its own subpath export (`@slideshow/dispatch/cloud-tasks`, `/workflows`,
 * `/dry-run`).
 */
import { createHash } from 'node:crypto';
import type { WorkflowArgument } from '@slideshow/contracts';
import { AppError } from '@slideshow/runtime';

export type { TaskCancellation } from './task-cancellation.ts';

/** The two queues (docs/architecture.md#batches-and-quotas): interactive uploads, bulk ingests. */
export const QUEUES = ['uploads', 'ingest'] as const;

/** Which queue a dispatch goes to. */
export type QueueName = (typeof QUEUES)[number];

/** One request to start processing an image, or a batch of images, at given generations. */
export interface DispatchRequest {
  /**
   * The dispatch key: the Cloud Tasks task id, and the `dispatch_key` label of
   * the workflow execution it creates. {@link taskNameFor} for one image,
   * {@link batchTaskNameFor} for a batch. The same key is the same dispatch:
   * repeating it is harmless (ALREADY_EXISTS).
   */
  key: string;
  queue: QueueName;
  /** The workflow execution argument: `{file_id, generation}` or `{file_ids, generations}`. */
  argument: WorkflowArgument;
}

/** What a successful dispatch created (or found already created). */
export interface DispatchResult {
  /** The Cloud Tasks task name, or the workflow execution name for the direct adapter. */
  taskName: string;
  /** True when the same name had been dispatched before (ALREADY_EXISTS counts as success). */
  alreadyExisted: boolean;
}

/** The state of the workflow execution that processes an image, as the Executions API reports it. */
export interface ExecutionState {
  /** Full resource name `projects/P/locations/L/workflows/W/executions/E`. */
  name: string;
  state: 'ACTIVE' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'UNAVAILABLE' | 'QUEUED' | (string & {});
  startTime?: string;
  endTime?: string;
  /** The execution's error payload, when it failed. */
  error?: string;
}

/**
 * A Cloud Tasks task that still exists, as `tasks.get` reports it (v2 `Task`:
 * https://cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues.tasks#Task).
 * Cloud Tasks deletes a task once its request succeeded (here: once the
 * workflow execution exists), and after its retries are exhausted, so a task
 * that exists has not created its execution yet.
 */
export interface TaskState {
  /** Full task name. */
  name: string;
  /** When the task is scheduled to be attempted or retried. */
  scheduleTime?: string;
  createTime?: string;
  /** Attempts dispatched so far; 0 means it is still waiting for its turn in the queue. */
  dispatchCount: number;
  /** Attempts that received a response. */
  responseCount: number;
  /** `firstAttempt.dispatchTime` (Cloud Tasks keeps only that of the first attempt). */
  firstDispatchTime?: string;
  /** `lastAttempt`: when it was dispatched and what the target answered. */
  lastAttempt?: { dispatchTime?: string; responseTime?: string; responseCode?: number };
}

/**
 * Starts the processing of images. Errors are `AppError('DISPATCH_FAILED')`,
 * `retryable` when the service said so (UNAVAILABLE, DEADLINE_EXCEEDED,
 * RESOURCE_EXHAUSTED, 5xx, 429, network) and not for requests it rejected.
 */
export interface TaskDispatcher {
  /** Creates the task / execution; idempotent per key. */
  dispatch(request: DispatchRequest): Promise<DispatchResult>;
  /**
   * The queued task of a dispatch, or undefined when there is none: it has
   * created its execution (or was dropped after its retries), or the adapter
   * has no queue. Adapters without a queue may leave it out.
   */
  taskState?(key: string, queue: QueueName): Promise<TaskState | undefined>;
  /**
   * The workflow execution a dispatch created that is still running, else the
   * newest (a task delivered twice creates two), or undefined when none is found.
   */
  executionState?(key: string): Promise<ExecutionState | undefined>;
  /** Releases clients and sockets. */
  close?(): Promise<void>;
}

/**
 * What a failed `dispatch` means for the caller, as one `AppError`: an
 * adapter's error keeps its code and `retryable` (the adapters decide it from
 * the service's answer: client-options.ts `dispatchError`); a `TypeError` is a
 * request no service would take (a malformed key, an argument over
 * {@link MAX_ARGUMENT_BYTES}), so repeating it cannot help; anything else
 * thrown raw (a socket error, say) is `DISPATCH_FAILED` and retryable. The
 * outbox relay decides from this alone whether to try again.
 */
export function toDispatchError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new AppError('DISPATCH_FAILED', message, {
    retryable: !(error instanceof TypeError),
    cause: error,
  });
}

/** The images of a dispatch as log fields: one image and its generation, or a batch's. */
export type ImageLogFields =
  | { imageId: string; generation: number }
  | { imageIds: string[]; generations: number[] };

/**
 * The images a dispatch is about, as the fields of its log lines: `imageId` (and `generation`)
 * for one image, `imageIds` (and `generations`) for a batch — the names every log line on an
 * image's way uses (the backend's, the processor's, local-cloud's), so that one grep or one
 * filter by an image id finds its dispatch too (docs/operations.md, "Monitoring").
 */
export function imageLogFields(argument: WorkflowArgument): ImageLogFields {
  return 'file_id' in argument
    ? { imageId: argument.file_id, generation: argument.generation }
    : { imageIds: argument.file_ids, generations: argument.generations };
}

/** Shape of a dispatch key: a Cloud Tasks task id that is also a valid Workflows label value. */
export const DISPATCH_KEY_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Throws a TypeError unless `key` matches {@link DISPATCH_KEY_PATTERN}. */
export function assertDispatchKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || !DISPATCH_KEY_PATTERN.test(key)) {
    throw new TypeError(
      `Expected 1 to 63 of a-z 0-9 _ - for key but received ${String(key)} of type ${typeof key}`,
    );
  }
}

/**
 * The task id for an image generation: a sha256 hex prefix of `imageId:generation`.
 * Google recommends hashed rather than sequential task names, because
 * sequential prefixes concentrate load and increase latency
 * (https://cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues.tasks#Task.FIELDS.name).
 * The same (imageId, generation) always gives the same name, so Cloud Tasks
 * deduplicates a repeated dispatch (ALREADY_EXISTS for ~1 hour after deletion).
 */
export function taskNameFor(imageId: string, generation: number): string {
  if (typeof imageId !== 'string' || imageId.length === 0) {
    throw new TypeError(
      `Expected a non-empty string for imageId but received ${String(imageId)} of type ${typeof imageId}`,
    );
  }
  if (!Number.isSafeInteger(generation) || generation < 0) {
    throw new TypeError(
      `Expected a non-negative integer for generation but received ${String(generation)} of type ${typeof generation}`,
    );
  }
  // Task ids allow [A-Za-z0-9_-], up to 500 characters; 32 hex chars (128 bits) is plenty.
  return createHash('sha256').update(`${imageId}:${generation}`).digest('hex').slice(0, 32);
}

/**
 * The task id of a batch: a sha256 hex prefix of its members, sorted, so the
 * same membership always gives the same name. The relay stores it with the
 * batch's outbox rows when it forms the batch, and reuses it on every retry.
 */
export function batchTaskNameFor(
  members: readonly { imageId: string; generation: number }[],
): string {
  if (members.length === 0) throw new TypeError('Expected at least one member for a batch');
  const parts = members.map((m) => `${m.imageId}:${m.generation}`).sort();
  return createHash('sha256')
    .update(`batch\n${parts.join('\n')}`)
    .digest('hex')
    .slice(0, 32);
}

/**
 * Largest workflow argument, in bytes of its JSON text: the Executions API
 * limits `Execution.argument` to 32 KB
 * (https://cloud.google.com/workflows/docs/reference/executions/rest/v1/projects.locations.workflows.executions#Execution.FIELDS.argument);
 * 32,000 stays under either reading of "KB". A batch's ids also become the
 * job's `TARGET_FILE_IDS`, which is shorter than the argument, so the same
 * bound keeps it under Cloud Run's 32 KiB per environment variable.
 */
export const MAX_ARGUMENT_BYTES = 32_000;

/** The size of `argument` as the Executions API counts it: the UTF-8 bytes of its JSON text. */
export function argumentBytes(argument: WorkflowArgument): number {
  return Buffer.byteLength(JSON.stringify(argument), 'utf8');
}

/** Throws a TypeError for an argument over {@link MAX_ARGUMENT_BYTES}: the Executions API would refuse it. */
export function assertArgumentSize(argument: WorkflowArgument): void {
  const bytes = argumentBytes(argument);
  if (bytes > MAX_ARGUMENT_BYTES) {
    throw new TypeError(
      `Expected a workflow argument of at most ${MAX_ARGUMENT_BYTES} bytes but received ${bytes} bytes`,
    );
  }
}
