/**
 * The reaper asks where a dispatch is before acting (docs/operations.md, "The
 * reaper"): a task still in its queue or an execution still running restarts
 * the deadline; only a dispatch that ended or vanished without settling its
 * image is re-dispatched, then failed STUCK. The real Cloud Tasks and
 * Workflows clients talk to loopback servers speaking those APIs; a task is
 * "delivered" the way Cloud Tasks does it (its body POSTed to the Executions
 * API, then the task deleted). The throttled-queue run through local-cloud is
 * in e2e/test/throttled-queue.test.ts.
 */
import { Writable } from 'node:stream';
import { batchTaskNameFor, type TaskDispatcher, taskNameFor } from '@slideshow/dispatch';
import {
  type FakeCloudTasksServer,
  startFakeCloudTasksServer,
} from '@slideshow/dispatch/testing/fake-cloud-tasks';
import {
  type FakeWorkflowExecutionsServer,
  startFakeWorkflowExecutionsServer,
} from '@slideshow/dispatch/testing/fake-workflow-executions';
import { createLogger } from '@slideshow/runtime';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOutboxRelay } from '../src/outbox-relay.ts';
import { createReaper, REAPER_LOGGED_IDS, type Reaper, type ReaperPass } from '../src/reaper.ts';
import {
  admin,
  expectJson,
  makeApp,
  makePng,
  memoryLogger,
  type TestApp,
  uploadPng,
} from './helpers.ts';
import { loopbackDispatcher } from './loopback-dispatcher.ts';

const STUCK_AFTER_MS = 60 * 60_000;
const PARENT = 'projects/p/locations/l';
const NONE: ReaperPass = { redispatched: [], failed: [], waiting: [], running: [], unknown: [] };

describe('the reaper, asking Cloud Tasks and the Executions API first', () => {
  let tasks: FakeCloudTasksServer;
  let executions: FakeWorkflowExecutionsServer;
  let dispatcher: TaskDispatcher;
  let t: TestApp;
  let reaper: Reaper;
  let logs: Record<string, unknown>[];

  beforeAll(async () => {
    tasks = await startFakeCloudTasksServer();
    executions = await startFakeWorkflowExecutionsServer();
  });
  afterAll(async () => {
    await tasks.close();
    await executions.close();
  });
  beforeEach(async () => {
    tasks.reset();
    executions.reset();
    dispatcher = loopbackDispatcher(tasks.url, executions.url);
    t = await makeApp({ dispatcher });
    const memory = memoryLogger('DEBUG');
    logs = memory.lines;
    reaper = createReaper({
      lifecycle: t.lifecycle,
      dispatcher,
      logger: memory.logger,
      intervalMs: 60_000,
      stuckAfterMs: STUCK_AFTER_MS,
    });
  });
  afterEach(async () => {
    await reaper.stop();
    await dispatcher.close?.();
    t.cleanup();
  });

  const upload = async (seed: number): Promise<string> => {
    const id = await uploadPng(t, seed);
    await t.relay.drain();
    return id;
  };

  const taskName = (queue: string, key: string) => `${PARENT}/queues/${queue}/tasks/${key}`;

  /** What Cloud Tasks does when the task's turn comes: POST its body, then delete the task. */
  const deliver = async (queue: string, key: string): Promise<string> => {
    const task = tasks.tasks.get(taskName(queue, key)) as
      | { httpRequest: { body: string } }
      | undefined;
    if (task === undefined) throw new Error(`no task ${key}`);
    const response = await fetch(
      `${executions.url}/v1/${PARENT}/workflows/process-image/executions`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: Buffer.from(task.httpRequest.body, 'base64'),
      },
    );
    expect(response.status).toBe(200);
    tasks.tasks.delete(taskName(queue, key));
    return ((await response.json()) as { name: string }).name;
  };

  const later = (ms: number) => {
    t.clock.now += ms;
  };

  it('leaves an image waiting in a throttled queue alone, however long it waits, and counts from its dispatch', async () => {
    const id = await upload(1);
    const key = taskNameFor(id, 0);
    // Three deadlines pass while the task waits its turn (dispatchCount 0).
    for (let hour = 1; hour <= 3; hour++) {
      later(STUCK_AFTER_MS + 1);
      expect(await reaper.runOnce()).toEqual({ ...NONE, waiting: [id] });
      // Seen alive: not a candidate again until a whole deadline has passed.
      expect(await reaper.runOnce()).toEqual(NONE);
    }
    const get = tasks.requests.filter((r) => r.method === 'GET');
    expect(get.map((r) => r.path)).toEqual(
      [1, 2, 3].map(() => `/v2/${taskName('image-uploads', key)}`),
    );
    expect(t.repos.images.get(id)).toMatchObject({
      status: 'queued',
      generation: 0,
      reaped_count: 0,
      alive_at: new Date(t.clock.now).toISOString(),
    });
    expect(logs).toContainEqual(
      expect.objectContaining({
        message: 'task still in its queue; not stuck',
        imageId: id,
        dispatchCount: 0,
      }),
    );

    // The pass's INFO line names the overdue image, so it can be looked up.
    expect(logs).toContainEqual(
      expect.objectContaining({
        message: 'reaper: overdue images are still waiting or running',
        waiting: 1,
        running: 0,
        waitingIds: [id],
        runningIds: [],
      }),
    );

    // Its turn comes: the execution runs, and the reaper sees it running past another deadline.
    const execution = await deliver('image-uploads', key);
    later(STUCK_AFTER_MS + 1);
    expect(await reaper.runOnce()).toEqual({ ...NONE, running: [id] });
    expect(logs.at(-1)).toMatchObject({ waiting: 0, running: 1, runningIds: [id] });

    // The execution ends without settling the image (a lost callback): now it is stuck.
    executions.setState(execution, 'FAILED', 'the job failed');
    later(STUCK_AFTER_MS + 1);
    expect(await reaper.runOnce()).toEqual({ ...NONE, redispatched: [id] });
    expect(t.repos.images.get(id)).toMatchObject({
      status: 'queued',
      generation: 1,
      reaped_count: 1,
    });
    expect(logs).toContainEqual(
      expect.objectContaining({
        message: 'stuck image re-dispatched',
        imageId: id,
        execution,
        executionState: 'FAILED',
      }),
    );
  });

  it('names at most REAPER_LOGGED_IDS overdue images in its INFO line, and counts them all', async () => {
    const ids: string[] = [];
    for (let seed = 100; seed <= 100 + REAPER_LOGGED_IDS; seed++) ids.push(await upload(seed));
    later(STUCK_AFTER_MS + 1);
    const pass = await reaper.runOnce();
    expect(pass.waiting).toHaveLength(REAPER_LOGGED_IDS + 1);
    const line = logs.find(
      (l) => l.message === 'reaper: overdue images are still waiting or running',
    );
    expect(line).toMatchObject({ waiting: REAPER_LOGGED_IDS + 1, running: 0 });
    const named = line?.waitingIds as string[];
    expect(named).toHaveLength(REAPER_LOGGED_IDS);
    expect(ids).toEqual(expect.arrayContaining(named));
  });

  it('leaves an image whose task Cloud Tasks is still retrying (the Executions API answering 503)', async () => {
    const id = await upload(2);
    const task = tasks.tasks.get(taskName('image-uploads', taskNameFor(id, 0)));
    if (task === undefined) throw new Error('no task');
    Object.assign(task, {
      dispatchCount: 7,
      responseCount: 7,
      lastAttempt: {
        dispatchTime: new Date(t.clock.now).toISOString(),
        responseStatus: { code: 14 },
      },
    });
    later(STUCK_AFTER_MS + 1);
    expect(await reaper.runOnce()).toEqual({ ...NONE, waiting: [id] });
  });

  it('re-dispatches an image whose task is gone without an execution, then fails it STUCK', async () => {
    const id = await upload(3);
    // Cloud Tasks dropped the task after its retries (maxRetryDuration): no execution exists.
    tasks.tasks.delete(taskName('image-uploads', taskNameFor(id, 0)));
    later(STUCK_AFTER_MS + 1);
    expect(await reaper.runOnce()).toEqual({ ...NONE, redispatched: [id] });
    await t.relay.drain();
    const retryKey = taskNameFor(id, 1);
    expect(tasks.tasks.has(taskName('image-uploads', retryKey))).toBe(true);
    expect(t.repos.images.get(id)).toMatchObject({ generation: 1, dispatch_key: retryKey });
    tasks.tasks.delete(taskName('image-uploads', retryKey));
    later(STUCK_AFTER_MS + 1);
    expect(await reaper.runOnce()).toEqual({ ...NONE, failed: [id] });
    expect(t.repos.failedTasks.get(id)).toMatchObject({ source: 'reaper', error_code: 'STUCK' });
  });

  it('leaves images alone while a lookup fails, and says so at ERROR', async () => {
    const id = await upload(4);
    later(STUCK_AFTER_MS + 1);
    tasks.failNext(403);
    expect(await reaper.runOnce()).toEqual({ ...NONE, unknown: [id] });
    expect(t.repos.images.get(id)).toMatchObject({ status: 'queued', generation: 0 });
    expect(logs).toContainEqual(
      expect.objectContaining({
        severity: 'ERROR',
        message: 'reaper could not look up dispatches; those images wait for the next pass',
        images: 1,
      }),
    );
    // The next pass looks again.
    expect(await reaper.runOnce()).toEqual({ ...NONE, waiting: [id] });
  });

  it('looks a batch up once for all its images, and keeps them while its execution runs', async () => {
    // Its own relay: batches of 3 (the builder's relay sends ingests 100 at a time).
    const relay = createOutboxRelay({
      db: t.db,
      repos: t.repos,
      lifecycle: t.lifecycle,
      regen: t.backend.services.regen,
      dispatcher,
      logger: createLogger({ stream: new Writable({ write: (_c, _e, done) => done() }) }),
      now: () => t.clock.now,
      imagesPerExecution: { ingest: 3 },
    });
    for (const i of [1, 2, 3]) {
      await t.store.put(`incoming/${i}.png`, makePng(8, 8, 10 + i), { contentType: 'image/png' });
    }
    const body = await expectJson<{ images: { id: string }[] }>(
      await t.app.request('/api/admin/ingest', {
        method: 'POST',
        headers: admin({ 'Content-Type': 'application/json' }),
        body: JSON.stringify({ prefix: 'incoming/' }),
      }),
      202,
    );
    const ids = body.images.map((i) => i.id);
    await relay.drain();
    const key = batchTaskNameFor(ids.map((imageId) => ({ imageId, generation: 0 })));
    const execution = await deliver('image-ingest', key);
    // One image of the batch reported done; the others wait for their turn in the job.
    await expectJson(
      await t.app.request(`/api/processing/${ids[0]}/failed`, {
        method: 'POST',
        headers: { Authorization: 'Bearer test-callback-secret-0123456789abcdef' },
        body: JSON.stringify({
          generation: 0,
          code: 'CORRUPT_IMAGE',
          message: 'bad',
          source: 'processor',
        }),
      }),
      200,
    );
    tasks.requests.length = 0;
    executions.requests.length = 0;
    later(STUCK_AFTER_MS + 1);
    const pass = await reaper.runOnce();
    expect({ ...pass, running: pass.running.sort() }).toEqual({
      ...NONE,
      running: ids.slice(1).sort(),
    });
    expect(tasks.requests.filter((r) => r.method === 'GET')).toHaveLength(1);
    expect(executions.requests.filter((r) => r.method === 'GET')).toHaveLength(1);
    expect(executions.requests[0]?.query.get('filter')).toBe(`labels.dispatch_key="${key}"`);

    // The batch's execution ends; its two unsettled images are re-dispatched, each on its own.
    executions.setState(execution, 'SUCCEEDED');
    later(STUCK_AFTER_MS + 1);
    const reaped = await reaper.runOnce();
    expect({ ...reaped, redispatched: reaped.redispatched.sort() }).toEqual({
      ...NONE,
      redispatched: ids.slice(1).sort(),
    });
    expect(t.repos.images.get(ids[0] as string)).toMatchObject({ status: 'failed', generation: 0 });
  });
});
