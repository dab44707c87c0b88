/**
 * The TaskCancellation port: removing a dispatch's task before Cloud Tasks
 * delivers it, so an image deleted while it waits in its queue costs no
 * workflow execution and no Cloud Run job execution
 * (docs/architecture.md#dispatch). A port of its own rather than a fifth
 * method of `TaskDispatcher`: only the adapters with a queue can do it. No SDK
 * is imported here; the Cloud Tasks adapter is `createCloudTasksCancellation`
 * (`@slideshow/dispatch/cloud-tasks`), the no-op one `createDryRunCancellation`
 * (`@slideshow/dispatch/dry-run`).
 */
import type { QueueName } from './task-dispatcher.ts';

/**
 * Removes queued tasks by dispatch key. Errors are `AppError('DISPATCH_FAILED')`
 * with the gRPC code in `context.grpcCode`, like the dispatcher's; callers
 * treat a cancellation as best effort (the processor stops by itself for an
 * image that no longer exists).
 */
export interface TaskCancellation {
  /**
   * Deletes the task of dispatch `key` in `queue` (`tasks.delete`): true when
   * it removed one, false when there was none — already delivered (its
   * execution exists), dropped after its retries, or never created.
   */
  cancel(key: string, queue: QueueName): Promise<boolean>;
  /** Releases clients and sockets. */
  close?(): Promise<void>;
}
