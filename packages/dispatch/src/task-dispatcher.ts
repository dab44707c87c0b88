/**
 * The TaskDispatcher port: how the backend hands one image (or a batch) to
 * the processing pipeline. No cloud SDK is imported here, so the backend can
 * depend on the port without loading `@google-cloud/*`; each adapter lives in
 * its own subpath export (`@slideshow/dispatch/cloud-tasks`, `/workflows`,
 * `/dry-run`).
 */
import { createHash } from 'node:crypto';
import type { WorkflowArgument } from '@slideshow/contracts';

/** The two queues (DESIGN §9): interactive uploads and batch ingests. */
export const QUEUES = ['uploads', 'ingest'] as const;

/** Which queue a dispatch goes to. */
export type QueueName = (typeof QUEUES)[number];

/** One request to start processing an image at a given generation. */
export interface DispatchRequest {
  imageId: string;
  /** Bumped on every retry (DESIGN §3.4); part of the task name. */
  generation: number;
  queue: QueueName;
  /** The workflow execution argument, e.g. `{ file_id: imageId }`. */
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
 * Starts the processing of images. Errors are `AppError('DISPATCH_FAILED')`,
 * `retryable` when the service said so (UNAVAILABLE, DEADLINE_EXCEEDED,
 * RESOURCE_EXHAUSTED, 5xx, 429, network) and not for requests it rejected.
 */
export interface TaskDispatcher {
  /** Creates the task / execution; idempotent per (imageId, generation). */
  dispatch(request: DispatchRequest): Promise<DispatchResult>;
  /** The latest workflow execution for this image and generation, or undefined when unknown. */
  executionState?(imageId: string, generation: number): Promise<ExecutionState | undefined>;
  /** Releases clients and sockets. */
  close?(): Promise<void>;
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
