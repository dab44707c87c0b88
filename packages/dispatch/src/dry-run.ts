/**
 * The dry-run TaskDispatcher (`DISPATCH=dry-run`): logs every request and
 * keeps it in memory. Nothing is processed; useful for tests and for running
 * the backend without any pipeline behind it.
 */
import { type Logger, silentLogger } from '@slideshow/runtime';
import {
  assertArgumentSize,
  assertDispatchKey,
  type DispatchRequest,
  type DispatchResult,
  imageLogFields,
  type TaskCancellation,
  type TaskDispatcher,
} from './task-dispatcher.ts';

/** Options for {@link createDryRunDispatcher}. */
export interface DryRunDispatcherOptions {
  logger?: Logger;
}

/** A dispatcher that records instead of dispatching. */
export interface DryRunDispatcher extends TaskDispatcher {
  /** Every request accepted, in order (duplicates included, flagged by `alreadyExisted`). */
  readonly dispatched: Array<DispatchRequest & DispatchResult>;
}

/** Creates the dry-run dispatcher; names are deduplicated like Cloud Tasks does. */
export function createDryRunDispatcher(options: DryRunDispatcherOptions = {}): DryRunDispatcher {
  const logger = options.logger ?? silentLogger;
  const seen = new Set<string>();
  const dispatched: Array<DispatchRequest & DispatchResult> = [];
  return {
    dispatched,
    async dispatch(request) {
      assertDispatchKey(request.key);
      assertArgumentSize(request.argument);
      const taskName = `dry-run/${request.queue}/${request.key}`;
      const alreadyExisted = seen.has(taskName);
      seen.add(taskName);
      dispatched.push({
        ...request,
        argument: structuredClone(request.argument),
        taskName,
        alreadyExisted,
      });
      logger.info('dry-run dispatch', {
        key: request.key,
        argument: request.argument,
        ...imageLogFields(request.argument),
        queue: request.queue,
        taskName,
        alreadyExisted,
      });
      return { taskName, alreadyExisted };
    },
    async taskState() {
      return undefined;
    },
    async executionState() {
      return undefined;
    },
    async close() {},
  };
}

/**
 * The dry-run TaskCancellation: the dry-run dispatcher queues nothing, so
 * there is never a task to remove (every answer is false).
 */
export function createDryRunCancellation(): TaskCancellation {
  return {
    async cancel(key) {
      assertDispatchKey(key);
      return false;
    },
    async close() {},
  };
}
