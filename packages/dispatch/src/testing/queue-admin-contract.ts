/**
 * The contract every QueueAdmin adapter passes (run from a test file with
 * vitest): both queues described with numeric counts, pause and resume
 * visible in the next describe, idempotent, an unknown queue refused, and —
 * when the subject can enqueue — a task counted in `tasksCount`.
 * `@slideshow/dispatch/testing/queue-admin-contract`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueueAdmin } from '../queue-admin.ts';
import { QUEUES, type QueueName } from '../task-dispatcher.ts';

/** An adapter under test. */
export interface QueueAdminSubject {
  admin: QueueAdmin;
  /** Puts one task in `queue`, if the adapter has real queues. */
  enqueue?: (queue: QueueName) => Promise<void>;
  teardown(): Promise<void>;
}

/** Registers the contract suite for one adapter. `setup` runs once in `beforeAll`. */
export function describeQueueAdminContract(
  name: string,
  setup: () => Promise<QueueAdminSubject>,
): void {
  describe(`${name} (QueueAdmin contract)`, () => {
    let subject: QueueAdminSubject;
    beforeAll(async () => {
      subject = await setup();
    });
    afterAll(async () => {
      await subject.admin.close?.();
      await subject.teardown();
    });

    it('describes both queues as running, with counts', async () => {
      for (const queue of QUEUES) {
        const snapshot = await subject.admin.describe(queue);
        expect(snapshot.queue).toBe(queue);
        expect(snapshot.name.length).toBeGreaterThan(0);
        expect(snapshot.state).toBe('RUNNING');
        expect(snapshot.tasksCount).toBeGreaterThanOrEqual(0);
        expect(snapshot.concurrentDispatchesCount).toBeGreaterThanOrEqual(0);
      }
    });

    it('pauses one queue, leaves the other running, and resumes it', async () => {
      expect((await subject.admin.pause('uploads')).state).toBe('PAUSED');
      expect((await subject.admin.describe('uploads')).state).toBe('PAUSED');
      expect((await subject.admin.describe('ingest')).state).toBe('RUNNING');
      expect((await subject.admin.pause('uploads')).state).toBe('PAUSED');
      expect((await subject.admin.resume('uploads')).state).toBe('RUNNING');
      expect((await subject.admin.describe('uploads')).state).toBe('RUNNING');
      expect((await subject.admin.resume('uploads')).state).toBe('RUNNING');
    });

    it('counts a waiting task when the adapter has real queues', async (context) => {
      if (!subject.enqueue) {
        context.skip('this adapter has no real queue to put a task in');
        return;
      }
      await subject.admin.pause('ingest');
      const before = (await subject.admin.describe('ingest')).tasksCount ?? 0;
      await subject.enqueue('ingest');
      const after = await subject.admin.describe('ingest');
      expect(after.tasksCount).toBe(before + 1);
      expect(after.oldestEstimatedArrivalTime).toMatch(/^\d{4}-\d\d-\d\dT/);
      await subject.admin.resume('ingest');
    });

    it('refuses a queue it does not know', async () => {
      await expect(subject.admin.describe('nope' as QueueName)).rejects.toThrow(
        /Expected 'uploads' or 'ingest' for queue/,
      );
    });
  });
}
