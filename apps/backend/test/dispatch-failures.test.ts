/**
 * No dispatch is retried forever (docs/reliability.md, "Who retries what"):
 * the outbox relay honours the dispatcher's `retryable` and a cap on
 * attempts, and fails the image with `source = 'dispatch'` when Cloud Tasks
 * refuses its task for good (PERMISSION_DENIED, a deleted queue) or the cap
 * is reached — so every accepted image still ends processed or with a
 * failed_tasks row. Before, the relay rescheduled every failure with no cap,
 * the reaper skipped images with an outbox row, and such an image stayed
 * `uploaded` forever. The real Cloud Tasks client talks to the loopback fake.
 */

import { type DispatchRequest, type TaskDispatcher, taskNameFor } from '@slideshow/dispatch';
import {
  type FakeCloudTasksServer,
  startFakeCloudTasksServer,
} from '@slideshow/dispatch/testing/fake-cloud-tasks';
import { AppError } from '@slideshow/runtime';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newImageId } from '../src/ids.ts';
import { REAPER_DEFAULTS } from '../src/reaper.ts';
import {
  admin,
  callback,
  expectJson,
  makeApp,
  sampleResult,
  type TestApp,
  uploadPng,
} from './helpers.ts';
import { loopbackDispatcher } from './loopback-dispatcher.ts';

const PARENT = 'projects/p/locations/l';

describe('dispatches the queue service refuses, or that never succeed', () => {
  let fake: FakeCloudTasksServer;
  let t: TestApp | undefined;
  beforeAll(async () => {
    fake = await startFakeCloudTasksServer();
  });
  afterAll(async () => {
    await fake.close();
  });
  afterEach(async () => {
    await t?.dispatcher.close?.();
    t?.cleanup();
    t = undefined;
  });

  const cloudTasks = () => loopbackDispatcher(fake.url, 'http://127.0.0.1:1');

  it.each([
    [403, 'PERMISSION_DENIED (the service account lost cloudtasks.tasks.create)'],
    [404, 'NOT_FOUND (the queue was deleted)'],
  ])(
    'fails the image at once with source dispatch when Cloud Tasks answers %i: %s',
    async (status) => {
      fake.reset();
      t = await makeApp({ dispatcher: cloudTasks() });
      const id = await uploadPng(t, status);
      fake.failNext(status);
      expect(await t.relay.drain()).toBe(0);
      expect(t.repos.outbox.stats().pending).toBe(0);
      expect(t.repos.images.get(id)).toMatchObject({
        status: 'failed',
        generation: 0,
        last_error_code: 'DISPATCH_REFUSED',
      });
      const row = t.repos.failedTasks.get(id);
      expect(row).toMatchObject({
        source: 'dispatch',
        error_code: 'DISPATCH_REFUSED',
        resolved_at: null,
      });
      expect(row?.error_message).toMatch(/refused the dispatch.*attempt 1.*DISPATCH_FAILED/);
      // One attempt: a refusal is not retried.
      expect(fake.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
      // The timeline says it failed to dispatch, not that it was dispatched.
      const events = t.backend.services.library.events(id).map((e) => [e.kind, e.code]);
      expect(events).toEqual([
        ['uploaded', null],
        ['failed', 'DISPATCH_REFUSED'],
      ]);
      // Once the setup is fixed, the admin's retry dispatches it under a new generation.
      await expectJson(
        await t.app.request(`/api/admin/images/${id}/retry`, { method: 'POST', headers: admin() }),
        202,
      );
      expect(await t.relay.drain()).toBe(1);
      expect(t.repos.images.get(id)).toMatchObject({ status: 'queued', generation: 1 });
      expect(fake.tasks.has(`${PARENT}/queues/image-uploads/tasks/${taskNameFor(id, 1)}`)).toBe(
        true,
      );
      expect(t.backend.services.library.events(id).map((e) => e.kind)).toEqual([
        'uploaded',
        'failed',
        'requeued',
        'dispatched',
      ]);
    },
  );

  it('retries a retryable failure with backoff, and gives up with DISPATCH_FAILED at the cap', async () => {
    const calls: DispatchRequest[] = [];
    const down: TaskDispatcher = {
      async dispatch(request) {
        calls.push(request);
        throw new AppError('DISPATCH_FAILED', 'Cloud Tasks createTask failed: 14 UNAVAILABLE', {
          retryable: true,
        });
      },
    };
    t = await makeApp({ dispatcher: down, relay: { maxAttempts: 4 } });
    const id = await uploadPng(t, 1);
    for (let attempt = 1; attempt <= 3; attempt++) {
      await t.relay.drain();
      expect(calls).toHaveLength(attempt);
      expect(t.repos.images.get(id)?.status).toBe('uploaded');
      expect(t.db.prepare('SELECT attempts FROM outbox').get()).toEqual({ attempts: attempt });
      t.clock.now += 10 * 60_000;
    }
    await t.relay.drain();
    expect(calls).toHaveLength(4);
    expect(t.repos.outbox.stats().pending).toBe(0);
    expect(t.repos.images.get(id)).toMatchObject({
      status: 'failed',
      last_error_code: 'DISPATCH_FAILED',
    });
    expect(t.repos.failedTasks.get(id)).toMatchObject({
      source: 'dispatch',
      error_code: 'DISPATCH_FAILED',
    });
    expect(t.repos.failedTasks.get(id)?.error_message).toMatch(/no task after 4 attempts/);
    // Nothing is left to retry it: the relay does not call again.
    t.clock.now += 60 * 60_000;
    await t.relay.drain();
    expect(calls).toHaveLength(4);
  });

  it('gives up on a request no service would take (a TypeError from the adapter) without retrying it', async () => {
    const calls: DispatchRequest[] = [];
    const strict: TaskDispatcher = {
      async dispatch(request) {
        calls.push(request);
        throw new TypeError(
          'Expected a workflow argument of at most 32000 bytes but received 40000 bytes',
        );
      },
    };
    t = await makeApp({ dispatcher: strict });
    const id = await uploadPng(t, 1);
    await t.relay.drain();
    expect(calls).toHaveLength(1);
    expect(t.repos.failedTasks.get(id)).toMatchObject({
      source: 'dispatch',
      error_code: 'DISPATCH_REFUSED',
    });
  });

  it('keeps retrying an error thrown raw (a socket error, say) as retryable', async () => {
    let calls = 0;
    const raw: TaskDispatcher = {
      async dispatch() {
        calls += 1;
        throw new Error('socket hang up');
      },
    };
    t = await makeApp({ dispatcher: raw });
    const id = await uploadPng(t, 1);
    await t.relay.drain();
    expect(calls).toBe(1);
    expect(t.repos.images.get(id)?.status).toBe('uploaded');
    expect(t.repos.outbox.stats().pending).toBe(1);
    expect(t.repos.failedTasks.get(id)).toBeUndefined();
  });

  it('fails every image of a refused batch, each with its own failed_tasks row', async () => {
    fake.reset();
    t = await makeApp({
      dispatcher: cloudTasks(),
      relay: { imagesPerExecution: { ingest: 3 }, batchWindowMs: 0 },
    });
    const ids = [1, 2, 3].map((i) => {
      const id = newImageId();
      t?.lifecycle.accept({
        id,
        original_name: `${i}.png`,
        content_type: 'image/png',
        bytes: 100,
        sha256: `${i.toString(16).padStart(8, '0')}${'1'.repeat(56)}`,
        source_key: `incoming/${i}.png`,
        priority: 'batch',
        preset: 'web-v1',
        width: 8,
        height: 8,
        format: 'png',
        created_at: new Date(t?.clock.now ?? 0).toISOString(),
      });
      return id;
    });
    fake.failNext(403);
    await t.relay.drain();
    expect(fake.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    for (const id of ids) {
      expect(t.repos.images.get(id)?.status).toBe('failed');
      expect(t.repos.failedTasks.get(id)).toMatchObject({
        source: 'dispatch',
        error_code: 'DISPATCH_REFUSED',
      });
    }
    expect(t.repos.outbox.stats().pending).toBe(0);
  });

  it('fails a regeneration whose dispatch is refused at once (source regenerate), the old set serving', async () => {
    fake.reset();
    t = await makeApp({
      dispatcher: cloudTasks(),
      relay: { imagesPerExecution: { ingest: 5 }, batchWindowMs: 0 },
    });
    const id = await uploadPng(t, 3);
    await t.relay.drain();
    await expectJson(
      await t.app.request(`/api/processing/${id}/complete`, {
        method: 'POST',
        headers: callback(),
        body: JSON.stringify({ generation: 0, result: sampleResult() }),
      }),
      200,
    );
    const started = await expectJson<{ run: { id: number } }>(
      await t.app.request('/api/admin/regenerate', {
        method: 'POST',
        headers: admin({ 'Content-Type': 'application/json' }),
        body: '{}',
      }),
      202,
    );
    // The worker's rate bucket fills with time.
    t.clock.now += 60_000;
    expect((await t.backend.services.regen.tick()).dispatched).toBe(1);
    fake.failNext(403);
    await t.relay.drain();
    expect(t.repos.outbox.stats().pending).toBe(0);
    // Before, the item stayed dispatched (in flight, holding its run open) until STUCK, 6 h later.
    const { run } = await expectJson<{
      run: { status: string; failed: number; inFlight: number; remaining: number };
    }>(await t.app.request(`/api/admin/regenerate/${started.run.id}`, { headers: admin() }), 200);
    expect(run).toMatchObject({ failed: 1, inFlight: 0, remaining: 0 });
    expect(t.repos.failedTasks.get(id)).toMatchObject({
      source: 'regenerate',
      error_code: 'DISPATCH_REFUSED',
      resolved_at: null,
    });
    expect(t.repos.failedTasks.get(id)?.error_message).toMatch(
      /old variants keep serving: dispatch: .*refused the dispatch/,
    );
    expect(t.repos.images.get(id)).toMatchObject({ status: 'processed', generation: 0 });
  });

  it('leaves an image that moved on alone when its dispatch is given up: only the outbox row goes', async () => {
    // The first attempt created the task but its answer was lost; the task ran and its
    // `started` arrived; the next attempt is refused. The image is processing, not failed.
    let refuse = false;
    const lost: TaskDispatcher = {
      async dispatch() {
        if (refuse)
          throw new AppError('DISPATCH_FAILED', 'PERMISSION_DENIED', { retryable: false });
        refuse = true;
        throw new AppError('DISPATCH_FAILED', 'DEADLINE_EXCEEDED', { retryable: true });
      },
    };
    t = await makeApp({ dispatcher: lost });
    const id = await uploadPng(t, 1);
    await t.relay.drain();
    await expectJson(
      await t.app.request(`/api/processing/${id}/started`, {
        method: 'POST',
        headers: callback(),
        body: JSON.stringify({ generation: 0, execution: 'e1', attempt: 0 }),
      }),
      200,
    );
    t.clock.now += 10 * 60_000;
    await t.relay.drain();
    expect(t.repos.outbox.stats().pending).toBe(0);
    expect(t.repos.images.get(id)?.status).toBe('processing');
    expect(t.repos.failedTasks.get(id)).toBeUndefined();
  });

  it('refuses a failure callback that claims to be the relay (source dispatch is the backend’s own verdict)', async () => {
    t = await makeApp();
    const id = await uploadPng(t, 1);
    const response = await t.app.request(`/api/processing/${id}/failed`, {
      method: 'POST',
      headers: callback(),
      body: JSON.stringify({ generation: 0, code: 'JOB_FAILED', message: 'x', source: 'dispatch' }),
    });
    await expectJson(response, 400);
  });
});

describe('the reaper and an image left without its dispatch', () => {
  let t: TestApp;
  afterEach(() => t.cleanup());

  it('re-dispatches an uploaded image whose outbox row is gone (before: skipped forever), then fails it STUCK', async () => {
    t = await makeApp();
    const id = await uploadPng(t, 7);
    // A dispatch lost by hand: someone deleted the row with sqlite3.
    t.db.prepare('DELETE FROM outbox WHERE image_id = ?').run(id);
    // The builder's own reaper, with its default STUCK_AFTER_MS.
    const reaper = t.backend.reaper;
    const none = { redispatched: [], failed: [], waiting: [], running: [], unknown: [] };
    t.clock.now += REAPER_DEFAULTS.stuckAfterMs + 1_000;
    expect(await reaper.runOnce()).toEqual({ ...none, redispatched: [id] });
    await t.relay.drain();
    expect(t.repos.images.get(id)).toMatchObject({ status: 'queued', generation: 1 });
    t.clock.now += REAPER_DEFAULTS.stuckAfterMs + 1_000;
    expect(await reaper.runOnce()).toEqual({ ...none, failed: [id] });
    expect(t.repos.failedTasks.get(id)).toMatchObject({ source: 'reaper', error_code: 'STUCK' });
  });
});
