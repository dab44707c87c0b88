/**
 * The dry-run QueueAdmin (`DISPATCH=dry-run`, and tests): queue states kept in
 * memory. Nothing is ever queued by the dry-run dispatcher, so the counts are
 * zero.
 */
import type { QueueAdmin, QueueSnapshot, QueueState } from './queue-admin.ts';
import { QUEUES, type QueueName } from './task-dispatcher.ts';

/** Creates the in-memory queue admin; every queue starts RUNNING. */
export function createDryRunQueueAdmin(): QueueAdmin {
  const states = new Map<QueueName, QueueState>();
  const known = (queue: QueueName): QueueName => {
    if (!QUEUES.includes(queue)) {
      throw new TypeError(
        `Expected 'uploads' or 'ingest' for queue but received ${String(queue)} of type ${typeof queue}`,
      );
    }
    return queue;
  };
  const snapshot = (queue: QueueName): QueueSnapshot => ({
    queue: known(queue),
    name: `dry-run/queues/${queue}`,
    state: states.get(queue) ?? 'RUNNING',
    tasksCount: 0,
    concurrentDispatchesCount: 0,
    executedLastMinuteCount: 0,
    oldestEstimatedArrivalTime: null,
  });
  return {
    async describe(queue) {
      return snapshot(queue);
    },
    async pause(queue) {
      states.set(known(queue), 'PAUSED');
      return snapshot(queue);
    },
    async resume(queue) {
      states.set(known(queue), 'RUNNING');
      return snapshot(queue);
    },
    async close() {},
  };
}
