/**
 * The jobs page's queue routes through `app.request()`: queue depths and
 * pause/resume through the QueueAdmin port — the real Cloud Tasks client
 * against the loopback Cloud Tasks server — and what the page gets when the
 * dispatcher has no queues.
 */
import { QueueAnswer, QueuesAnswer } from '@slideshow/contracts';
import { createCloudTasksDispatcher } from '@slideshow/dispatch/cloud-tasks';
import { createCloudTasksQueueAdmin } from '@slideshow/dispatch/queue-admin/cloud-tasks';
import {
  type FakeCloudTasksServer,
  startFakeCloudTasksServer,
} from '@slideshow/dispatch/testing/fake-cloud-tasks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  admin,
  expectAnswer,
  expectJson,
  makeApp,
  makePng,
  multipart,
  type TestApp,
} from './helpers.ts';

/** The queue list's rows, read by field whichever kind they are (a queue or its error). */
type Queues = Omit<QueuesAnswer, 'queues'> & {
  queues: { queue: string; state?: string; tasksCount?: number | null; error?: { code: string } }[];
};

/** `GET /api/admin/queues` on `t`, checked against its contract. */
async function listQueues(t: TestApp): Promise<Queues> {
  return expectAnswer(
    QueuesAnswer,
    await t.app.request('/api/admin/queues', { headers: admin() }),
    200,
  );
}

describe('queue depths and pause/resume through Cloud Tasks', () => {
  let fake: FakeCloudTasksServer;
  let t: TestApp;
  beforeAll(async () => {
    fake = await startFakeCloudTasksServer();
    const queues = { uploads: 'image-uploads', ingest: 'image-ingest' };
    const common = { project: 'p', location: 'l', queues, apiEndpoint: fake.url };
    t = await makeApp({
      dispatcher: createCloudTasksDispatcher({
        ...common,
        workflow: 'process-image',
        serviceAccountEmail: 'tasks@p.iam.gserviceaccount.com',
      }),
      queueAdmin: createCloudTasksQueueAdmin(common),
    });
  });
  afterAll(async () => {
    await t.dispatcher.close?.();
    t.cleanup();
    await fake.close();
  });

  const post = (path: string) => t.app.request(path, { method: 'POST', headers: admin() });

  it('shows each queue with its task count and the outbox', async () => {
    await expectJson(
      await t.app.request('/api/admin/upload', {
        method: 'POST',
        headers: admin(),
        body: multipart([{ name: 'a.png', bytes: makePng(8, 8, 1) }]),
      }),
      202,
    );
    const before = await listQueues(t);
    expect(before.outbox.pending).toBe(1);
    expect(before.queues.find((q) => q.queue === 'uploads')).toMatchObject({
      state: 'RUNNING',
      tasksCount: 0,
    });
    await t.relay.drain();
    const after = await listQueues(t);
    expect(after.outbox.pending).toBe(0);
    expect(after.queues.map((q) => [q.queue, q.tasksCount])).toEqual([
      ['uploads', 1],
      ['ingest', 0],
    ]);
  });

  it('pauses and resumes a queue with the Cloud Tasks calls gcloud makes', async () => {
    fake.requests.length = 0;
    const paused = await expectAnswer(
      QueueAnswer,
      await post('/api/admin/queues/uploads/pause'),
      200,
    );
    expect(paused.queue.state).toBe('PAUSED');
    expect(paused.queue.tasksCount).toBeGreaterThanOrEqual(0);
    expect(fake.queueStates.get('projects/p/locations/l/queues/image-uploads')).toBe('PAUSED');
    await expectAnswer(QueueAnswer, await post('/api/admin/queues/uploads/resume'), 200);
    expect(fake.queueStates.get('projects/p/locations/l/queues/image-uploads')).toBe('RUNNING');
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toContain(
      'POST /v2/projects/p/locations/l/queues/image-uploads:pause',
    );
    expect((await post('/api/admin/queues/nope/pause')).status).toBe(404);
  });

  it('shows a queue it cannot reach as an error without hiding the other', async () => {
    // 403: not retried by the client (a 503 would be, and succeed).
    fake.failNext(403, 1);
    const body = await listQueues(t);
    expect(body.queues.filter((q) => q.error?.code === 'DISPATCH_FAILED')).toHaveLength(1);
    expect(body.queues.filter((q) => q.state === 'RUNNING')).toHaveLength(1);
  });
});

describe('queue routes without a queue admin', () => {
  it('says there are no queues and refuses to pause', async () => {
    const t = await makeApp();
    try {
      const body = await listQueues(t);
      expect(body.queues).toEqual([]);
      expect(body.note).toMatch(/no queues/);
      const pause = await t.app.request('/api/admin/queues/uploads/pause', {
        method: 'POST',
        headers: admin(),
      });
      expect(pause.status).toBe(409);
    } finally {
      t.cleanup();
    }
  });
});
