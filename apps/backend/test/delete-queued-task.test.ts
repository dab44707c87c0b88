/**
 * Deleting an image whose task still waits in its Cloud Tasks queue removes
 * the task (library/queued-tasks.ts), so it never starts a workflow execution
 * and a job execution that only find the image gone: a single upload, a bulk
 * delete, the last member of a batch, a regeneration's task, and a task the
 * relay was creating while the image went. Removal is best effort: Cloud
 * Tasks failing or unreachable never fails the delete. Through `app.request()`
 * on the real builder, the real `@google-cloud/tasks` client against the
 * loopback Cloud Tasks server.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { batchTaskNameFor, type TaskDispatcher, taskNameFor } from '@slideshow/dispatch';
import {
  createCloudTasksCancellation,
  createCloudTasksDispatcher,
} from '@slideshow/dispatch/cloud-tasks';
import { createCloudTasksQueueAdmin } from '@slideshow/dispatch/queue-admin/cloud-tasks';
import {
  type FakeCloudTasksServer,
  startFakeCloudTasksServer,
} from '@slideshow/dispatch/testing/fake-cloud-tasks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { BackendDeps } from '../src/backend.ts';
import {
  admin,
  callback,
  expectJson,
  makeApp,
  memoryLogger,
  type TestApp,
  uploadPng,
} from './helpers.ts';
import { regenHarness } from './regen-harness.ts';

const QUEUES = { uploads: 'image-uploads', ingest: 'image-ingest' };
const PARENT = 'projects/p/locations/l/queues';

let fake: FakeCloudTasksServer;
beforeAll(async () => {
  fake = await startFakeCloudTasksServer();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

/** The Cloud Tasks adapters on the fake (or the cancellation on `cancelEndpoint`). */
function cloudTasks(cancelEndpoint = fake.url) {
  const common = { project: 'p', location: 'l', queues: QUEUES, apiEndpoint: fake.url };
  return {
    dispatcher: createCloudTasksDispatcher({
      ...common,
      workflow: 'process-image',
      serviceAccountEmail: 'tasks@p.iam.gserviceaccount.com',
    }),
    queueAdmin: createCloudTasksQueueAdmin(common),
    taskCancellation: createCloudTasksCancellation({ ...common, apiEndpoint: cancelEndpoint }),
  };
}

/** The test backend on the Cloud Tasks adapters, logging into `lines`. */
async function backendOnCloudTasks(extra: Partial<BackendDeps> = {}, cancelEndpoint?: string) {
  const { logger, lines } = memoryLogger('DEBUG');
  const t = await makeApp({ ...cloudTasks(cancelEndpoint), logger, ...extra });
  return { t, lines };
}

/** Closes the backend's clients (the adapters') and removes its folder. */
async function stop(t: TestApp) {
  await t.backend.close();
  t.cleanup();
}

const taskPath = (queue: 'uploads' | 'ingest', key: string) =>
  `${PARENT}/${QUEUES[queue]}/tasks/${key}`;

async function remove(t: TestApp, id: string) {
  return expectJson(
    await t.app.request(`/api/admin/images/${id}`, { method: 'DELETE', headers: admin() }),
    200,
  );
}

/** The uploads queue's task count as the jobs page shows it. */
async function uploadsTasksCount(t: TestApp): Promise<number | null | undefined> {
  const body = await expectJson<{ queues: { queue: string; tasksCount?: number | null }[] }>(
    await t.app.request('/api/admin/queues', { headers: admin() }),
    200,
  );
  return body.queues.find((q) => q.queue === 'uploads')?.tasksCount;
}

const deleteRequests = () => fake.requests.filter((r) => r.method === 'DELETE');

describe('deleting an image whose task waits in its queue', () => {
  let t: TestApp;
  let lines: Record<string, unknown>[];
  beforeEach(async () => {
    ({ t, lines } = await backendOnCloudTasks());
  });
  afterEach(() => stop(t));

  it('removes its task, so the queue counts none', async () => {
    const id = await uploadPng(t, 1);
    await t.relay.drain();
    const name = taskPath('uploads', taskNameFor(id, 0));
    expect(fake.tasks.has(name)).toBe(true);
    expect(await uploadsTasksCount(t)).toBe(1);

    expect(await remove(t, id)).toMatchObject({ deleted: true, id });
    expect(fake.tasks.has(name)).toBe(false);
    expect(await uploadsTasksCount(t)).toBe(0);
    expect(lines).toContainEqual(
      expect.objectContaining({ message: 'queued task cancelled', imageId: id, queue: 'uploads' }),
    );
  });

  it('removes the task of every image of a bulk delete', async () => {
    const ids = [await uploadPng(t, 2), await uploadPng(t, 3)];
    await t.relay.drain();
    expect(fake.tasks.size).toBe(2);
    const answer = await expectJson<{ results: { id: string; ok: boolean }[] }>(
      await t.app.request('/api/admin/images/bulk', {
        method: 'POST',
        headers: admin({ 'Content-Type': 'application/json' }),
        body: JSON.stringify({ action: 'delete', ids }),
      }),
      200,
    );
    expect(answer.results).toEqual(ids.map((id) => ({ id, ok: true })));
    expect([...fake.tasks.keys()]).toEqual([]);
  });

  it('never sends an outbox row whose image was deleted first', async () => {
    const id = await uploadPng(t, 4);
    await remove(t, id);
    expect(await t.relay.drain()).toBe(0);
    expect(fake.createdCount).toBe(0);
    expect(deleteRequests()).toEqual([]);
  });

  it('leaves a task that was delivered already (the processor started) alone', async () => {
    const id = await uploadPng(t, 5);
    await t.relay.drain();
    // Cloud Tasks deletes a task once its execution exists; the processor then reports.
    fake.tasks.delete(taskPath('uploads', taskNameFor(id, 0)));
    await expectJson(
      await t.app.request(`/api/processing/${id}/started`, {
        method: 'POST',
        headers: callback(),
        body: JSON.stringify({ generation: 0, execution: 'exec-1', attempt: 0 }),
      }),
      200,
    );
    await remove(t, id);
    expect(deleteRequests()).toEqual([]);
  });

  it('answers the delete as usual when the task was delivered before the processor reported', async () => {
    const id = await uploadPng(t, 6);
    await t.relay.drain();
    fake.tasks.delete(taskPath('uploads', taskNameFor(id, 0)));
    expect(await remove(t, id)).toMatchObject({ deleted: true, id });
    expect(deleteRequests()).toHaveLength(1);
    expect(lines.filter((l) => l.severity === 'WARNING')).toEqual([]);
  });
});

describe("a batch's task", () => {
  it('stays while another image of the batch waits for it, and goes with the last one', async () => {
    const { t } = await backendOnCloudTasks({
      relay: { imagesPerExecution: { uploads: 2 }, batchWindowMs: 0 },
    });
    try {
      const ids = [await uploadPng(t, 7), await uploadPng(t, 8)];
      await t.relay.drain();
      const key = batchTaskNameFor(ids.map((imageId) => ({ imageId, generation: 0 })));
      const name = taskPath('uploads', key);
      expect([...fake.tasks.keys()]).toEqual([name]);

      await remove(t, ids[0] as string);
      expect(fake.tasks.has(name)).toBe(true);
      expect(deleteRequests()).toEqual([]);
      await remove(t, ids[1] as string);
      expect(fake.tasks.has(name)).toBe(false);
    } finally {
      await stop(t);
    }
  });
});

describe('an image deleted while the relay creates its task', () => {
  it('has its task removed by the relay once the task exists', async () => {
    const adapters = cloudTasks();
    // Holds each dispatch until released, so the delete lands while it is in flight.
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered!: () => void;
    const inFlight = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const held: TaskDispatcher = {
      ...adapters.dispatcher,
      async dispatch(request) {
        entered();
        await released;
        return adapters.dispatcher.dispatch(request);
      },
    };
    const { logger, lines } = memoryLogger('DEBUG');
    const t = await makeApp({ ...adapters, dispatcher: held, logger });
    try {
      const id = await uploadPng(t, 9);
      const drained = t.relay.drain();
      await inFlight;
      await remove(t, id);
      expect(deleteRequests()).toEqual([]);
      release();
      await drained;
      expect(fake.createdCount).toBe(1);
      expect([...fake.tasks.keys()]).toEqual([]);
      expect(lines).toContainEqual(
        expect.objectContaining({
          message: 'queued task cancelled',
          dispatchKey: taskNameFor(id, 0),
          reason: 'image deleted while its task was created',
          // The line names the image it was for, as every line on an image's way does.
          imageId: id,
        }),
      );
    } finally {
      await stop(t);
    }
  });
});

describe("a regeneration's task", () => {
  it('goes with the image when the regeneration has not started', async () => {
    const adapters = cloudTasks();
    const h = await regenHarness(
      { ratePerMinute: 10 },
      { ingest: 100, batchWindowMs: 0 },
      adapters,
    );
    try {
      const [id] = await h.processed(1);
      expect(fake.tasks.size).toBe(1);
      fake.tasks.clear(); // the image's own task: delivered, as the processor completed
      await h.start();
      await h.tick();
      const [item] = h.items('dispatched');
      expect(item?.image_id).toBe(id);
      const key = batchTaskNameFor([{ imageId: id as string, generation: item?.generation ?? -1 }]);
      expect([...fake.tasks.keys()]).toEqual([taskPath('ingest', key)]);

      await remove(h.t, id as string);
      expect([...fake.tasks.keys()]).toEqual([]);
    } finally {
      await stop(h.t);
    }
  });
});

describe('a delete while Cloud Tasks fails', () => {
  it('succeeds when Cloud Tasks is unreachable, and logs a warning with the error code', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const { t, lines } = await backendOnCloudTasks({}, `http://127.0.0.1:${port}`);
    try {
      const id = await uploadPng(t, 10);
      await t.relay.drain();
      expect(await remove(t, id)).toMatchObject({ deleted: true, id });
      expect(t.repos.images.get(id)).toBeUndefined();
      expect(lines).toContainEqual(
        expect.objectContaining({
          severity: 'WARNING',
          message: 'queued task not cancelled; it will run and find its image gone',
          imageId: id,
          dispatchKey: taskNameFor(id, 0),
          code: 'DISPATCH_FAILED',
        }),
      );
    } finally {
      await stop(t);
    }
  });

  it('pauses cancellations for a minute after a failure, then tries again', async () => {
    const { t, lines } = await backendOnCloudTasks();
    try {
      const ids = [await uploadPng(t, 11), await uploadPng(t, 12), await uploadPng(t, 13)];
      await t.relay.drain();
      fake.failNext(503);
      await remove(t, ids[0] as string);
      expect(lines).toContainEqual(
        expect.objectContaining({
          severity: 'WARNING',
          imageId: ids[0],
          code: 'DISPATCH_FAILED',
          grpcCode: 14,
        }),
      );
      expect(deleteRequests()).toHaveLength(1);

      await remove(t, ids[1] as string);
      expect(deleteRequests()).toHaveLength(1);
      expect(lines).toContainEqual(
        expect.objectContaining({
          severity: 'INFO',
          message: 'queued task not cancelled: cancellations paused after a failure',
          imageId: ids[1],
          dispatchKey: taskNameFor(ids[1] as string, 0),
        }),
      );
      // One WARNING for the failure; the deletes skipped during the pause do not add one each.
      expect(
        lines.filter(
          (l) => l.severity === 'WARNING' && String(l.message).startsWith('queued task not'),
        ),
      ).toHaveLength(1);

      t.clock.now += 60_000;
      await remove(t, ids[2] as string);
      expect(fake.tasks.has(taskPath('uploads', taskNameFor(ids[2] as string, 0)))).toBe(false);
      // The first two were not removed: they will run and find their image gone.
      expect(fake.tasks.size).toBe(2);
    } finally {
      await stop(t);
    }
  });

  it('measures the pause on a clock that never steps: a wall clock set back 10 min does not stretch it (before: 11 min)', async () => {
    const clocks = { wall: Date.parse('2026-01-01T00:00:00Z'), monotonic: 1_000 };
    const { t, lines } = await backendOnCloudTasks({
      now: () => clocks.wall,
      monotonicNow: () => clocks.monotonic,
    });
    try {
      const ids = [await uploadPng(t, 21), await uploadPng(t, 22)];
      await t.relay.drain();
      fake.failNext(503);
      await remove(t, ids[0] as string);
      expect(deleteRequests()).toHaveLength(1);
      const paused = lines.find((l) => l.severity === 'WARNING');
      expect(paused).toMatchObject({ code: 'DISPATCH_FAILED' });

      clocks.wall -= 10 * 60_000;
      clocks.monotonic += 60_000;
      await remove(t, ids[1] as string);
      expect(deleteRequests()).toHaveLength(2);
      expect(fake.tasks.has(taskPath('uploads', taskNameFor(ids[1] as string, 0)))).toBe(false);
    } finally {
      await stop(t);
    }
  });
});
