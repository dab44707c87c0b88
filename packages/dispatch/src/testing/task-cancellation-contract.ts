/**
 * The contract every TaskCancellation adapter passes (run from a test file
 * with vitest): a key with no task answers false, a malformed key is refused
 * before any call, and — when the subject has real queues — a queued task is
 * removed once (true), then answers false, in its own queue only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskCancellation } from '../task-cancellation.ts';
import { type QueueName, taskNameFor } from '../task-dispatcher.ts';

/** An adapter under test. */
export interface TaskCancellationSubject {
  cancellation: TaskCancellation;
  /** Queues a task named `key` in `queue`, and says whether it is still there, if the adapter has real queues. */
  queue?: {
    enqueue(key: string, queue: QueueName): Promise<void>;
    exists(key: string, queue: QueueName): Promise<boolean>;
  };
  teardown(): Promise<void>;
}

/** Registers the contract suite for one adapter. `setup` runs once in `beforeAll`. */
export function describeTaskCancellationContract(
  name: string,
  setup: () => Promise<TaskCancellationSubject>,
): void {
  describe(`${name} (TaskCancellation contract)`, () => {
    let subject: TaskCancellationSubject;
    beforeAll(async () => {
      subject = await setup();
    });
    afterAll(async () => {
      await subject.cancellation.close?.();
      await subject.teardown();
    });

    it('answers false for a dispatch that has no task', async () => {
      expect(await subject.cancellation.cancel(taskNameFor('never-sent', 0), 'uploads')).toBe(
        false,
      );
    });

    it('refuses a malformed key before calling anything', async () => {
      await expect(subject.cancellation.cancel('Not/A Key', 'uploads')).rejects.toThrow(
        'Expected 1 to 63 of a-z 0-9 _ - for key but received Not/A Key of type string',
      );
    });

    it('removes a queued task once, in its own queue only', async (context) => {
      const queue = subject.queue;
      if (!queue) {
        context.skip('this adapter has no real queue to put a task in');
        return;
      }
      const key = taskNameFor('queued-image', 3);
      await queue.enqueue(key, 'uploads');
      await queue.enqueue(key, 'ingest');
      expect(await subject.cancellation.cancel(key, 'uploads')).toBe(true);
      expect(await queue.exists(key, 'uploads')).toBe(false);
      expect(await queue.exists(key, 'ingest')).toBe(true);
      expect(await subject.cancellation.cancel(key, 'uploads')).toBe(false);
    });
  });
}
