/**
 * The contract every TaskDispatcher adapter passes (run from a test file with
 * vitest): naming, idempotency per (image, generation), both queues, batch
 * arguments. Adapters outside this package (a backend test double, say) can
 * run it too: `@slideshow/dispatch/testing/contract`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskDispatcher } from '../task-dispatcher.ts';

/** A dispatcher under test and how to tear it (and its servers) down. */
export interface ContractSubject {
  dispatcher: TaskDispatcher;
  teardown(): Promise<void>;
}

/** Registers the contract suite for one adapter. `setup` runs once in `beforeAll`. */
export function describeTaskDispatcherContract(
  name: string,
  setup: () => Promise<ContractSubject>,
): void {
  describe(`${name} (TaskDispatcher contract)`, () => {
    let subject: ContractSubject;
    let run = 0;
    // Unique ids per suite run so adapters with persistent state start clean.
    const id = (label: string) => `${label}-${process.pid}-${++run}`;

    beforeAll(async () => {
      subject = await setup();
    });
    afterAll(async () => {
      await subject.dispatcher.close?.();
      await subject.teardown();
    });

    it('dispatches a new image generation and names what it created', async () => {
      const imageId = id('img');
      const result = await subject.dispatcher.dispatch({
        imageId,
        generation: 0,
        queue: 'uploads',
        argument: { file_id: imageId, generation: 0 },
      });
      expect(result.alreadyExisted).toBe(false);
      expect(result.taskName.length).toBeGreaterThan(0);
    });

    it('treats a repeated dispatch of the same generation as already done, with the same name', async () => {
      const imageId = id('img');
      const request = {
        imageId,
        generation: 1,
        queue: 'uploads',
        argument: { file_id: imageId, generation: 1 },
      } as const;
      const first = await subject.dispatcher.dispatch(request);
      const again = await subject.dispatcher.dispatch(request);
      expect(again).toEqual({ taskName: first.taskName, alreadyExisted: true });
    });

    it('dispatches the next generation of the same image as new work', async () => {
      const imageId = id('img');
      const base = { imageId, queue: 'uploads' } as const;
      const first = await subject.dispatcher.dispatch({
        ...base,
        generation: 1,
        argument: { file_id: imageId, generation: 1 },
      });
      const next = await subject.dispatcher.dispatch({
        ...base,
        generation: 2,
        argument: { file_id: imageId, generation: 2 },
      });
      expect(next.alreadyExisted).toBe(false);
      expect(next.taskName).not.toBe(first.taskName);
    });

    it('accepts a batch argument on the ingest queue', async () => {
      const imageId = id('batch');
      const result = await subject.dispatcher.dispatch({
        imageId,
        generation: 0,
        queue: 'ingest',
        argument: { file_ids: [`${imageId}-a`, `${imageId}-b`], generations: [0, 0] },
      });
      expect(result.alreadyExisted).toBe(false);
    });
  });
}
