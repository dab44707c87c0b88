/**
 * Batch ingest in the outbox relay (docs/operations.md, "Batch ingest"):
 * ingested images go to the ingest queue in batches — full ones at once, a
 * partial one after the batch window — bounded by the Executions API's 32 KB
 * argument limit, named once and retried under the same name. Through
 * `app.request()` on a real SQLite file, with the dry-run dispatcher or the
 * real Cloud Tasks client against a loopback Cloud Tasks server.
 */
import type { WorkflowArgument } from '@slideshow/contracts';
import {
  argumentBytes,
  batchTaskNameFor,
  type DispatchRequest,
  MAX_ARGUMENT_BYTES,
  taskNameFor,
} from '@slideshow/dispatch';
import type { DryRunDispatcher } from '@slideshow/dispatch/dry-run';
import {
  type FakeCloudTasksServer,
  startFakeCloudTasksServer,
} from '@slideshow/dispatch/testing/fake-cloud-tasks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newImageId } from '../src/ids.ts';
import type { OutboxRelay } from '../src/outbox-relay.ts';
import { admin, expectJson, makeApp, makePng, multipart, type TestApp } from './helpers.ts';
import { loopbackDispatcher } from './loopback-dispatcher.ts';

const WINDOW_MS = 10_000;

function batchOf(d: DispatchRequest): { file_ids: string[]; generations: number[] } {
  const argument: WorkflowArgument = d.argument;
  if (!('file_ids' in argument)) throw new Error(`not a batch: ${JSON.stringify(argument)}`);
  return argument;
}

describe('batch ingest in the outbox relay', () => {
  let t: TestApp;
  let relay: OutboxRelay;
  afterEach(() => t.cleanup());

  const setup = async (imagesPerExecution: number, dispatcher?: Parameters<typeof makeApp>[0]) => {
    t = await makeApp({
      ...dispatcher,
      relay: { imagesPerExecution: { ingest: imagesPerExecution }, batchWindowMs: WINDOW_MS },
    });
    relay = t.relay;
  };

  /** Accepts `n` images at batch priority, as an ingest does, one second apart. */
  const acceptBatchImages = (n: number): string[] => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = newImageId();
      t.lifecycle.accept({
        id,
        original_name: `${i}.png`,
        content_type: 'image/png',
        bytes: 100,
        sha256: `${i.toString(16).padStart(8, '0')}${'0'.repeat(56)}`,
        source_key: `incoming/${i}.png`,
        priority: 'batch',
        preset: 'web-v1',
        width: 8,
        height: 8,
        format: 'png',
        created_at: new Date(t.clock.now).toISOString(),
      });
      ids.push(id);
    }
    return ids;
  };

  it('sends full batches at once and the rest as one partial batch after the batch window', async () => {
    await setup(10);
    const ids = acceptBatchImages(25);
    await relay.drain();
    const dry = t.dispatcher as DryRunDispatcher;
    expect(dry.dispatched.map((d) => batchOf(d).file_ids)).toEqual([
      ids.slice(0, 10),
      ids.slice(10, 20),
    ]);
    for (const d of dry.dispatched) {
      const members = batchOf(d).file_ids.map((imageId) => ({ imageId, generation: 0 }));
      expect(d).toMatchObject({ queue: 'ingest', key: batchTaskNameFor(members) });
      expect(batchOf(d).generations).toEqual(members.map(() => 0));
    }
    // The last five wait for companions; none arrive within the window.
    t.clock.now += WINDOW_MS - 1;
    await relay.drain();
    expect(dry.dispatched).toHaveLength(2);
    t.clock.now += 1;
    await relay.drain();
    expect(dry.dispatched.map((d) => batchOf(d).file_ids)).toEqual([
      ids.slice(0, 10),
      ids.slice(10, 20),
      ids.slice(20),
    ]);
    // Every image is queued under the key of the dispatch that carries it.
    for (const [i, id] of ids.entries()) {
      expect(t.repos.images.get(id)).toMatchObject({
        status: 'queued',
        dispatch_key: dry.dispatched[Math.floor(i / 10)]?.key,
      });
    }
    expect(t.repos.outbox.stats().pending).toBe(0);
  });

  it("names the batch's task in each image's timeline, as the dispatch that carried it", async () => {
    await setup(3);
    const ids = acceptBatchImages(3);
    await relay.drain();
    const [batch] = (t.dispatcher as DryRunDispatcher).dispatched;
    expect(batch?.key).toMatch(/./);
    for (const id of ids) {
      const { events } = await expectJson<{ events: { kind: string; detail: string | null }[] }>(
        await t.app.request(`/api/admin/images/${id}/timeline`, { headers: admin() }),
        200,
      );
      // The outbox row's own task_name is the single-image name no task was created under.
      expect(events.filter((e) => e.kind === 'dispatched').map((e) => e.detail)).toEqual([
        `ingest ${batch?.key}`,
      ]);
      expect(t.repos.images.get(id)?.dispatch_key).toBe(batch?.key);
    }
  });

  it('keeps interactive uploads at one image per execution however many are waiting', async () => {
    await setup(10);
    const body = await expectJson<{ images: { id: string }[] }>(
      await t.app.request('/api/admin/upload', {
        method: 'POST',
        headers: admin(),
        body: multipart([1, 2, 3].map((seed) => ({ name: 'a.png', bytes: makePng(8, 8, seed) }))),
      }),
      202,
    );
    await relay.drain();
    const dry = t.dispatcher as DryRunDispatcher;
    const byKey = (a: { key: string }, b: { key: string }) => a.key.localeCompare(b.key);
    expect(
      dry.dispatched.map(({ key, queue, argument }) => ({ key, queue, argument })).sort(byKey),
    ).toEqual(
      body.images
        .map(({ id }) => ({
          key: taskNameFor(id, 0),
          queue: 'uploads',
          argument: { file_id: id, generation: 0 },
        }))
        .sort(byKey),
    );
  });

  it('stops a batch at the 32 KB argument limit before its size', async () => {
    await setup(1000);
    const ids = acceptBatchImages(1000);
    await relay.drain();
    const dry = t.dispatcher as DryRunDispatcher;
    expect(dry.dispatched).toHaveLength(1);
    const first = dry.dispatched[0] as DispatchRequest;
    const size = batchOf(first).file_ids.length;
    expect(size).toBeLessThan(1000);
    expect(argumentBytes(first.argument)).toBeLessThanOrEqual(MAX_ARGUMENT_BYTES);
    // One more id would not have fitted.
    const bigger = {
      file_ids: ids.slice(0, size + 1),
      generations: ids.slice(0, size + 1).map(() => 0),
    };
    expect(argumentBytes(bigger)).toBeGreaterThan(MAX_ARGUMENT_BYTES);
    t.clock.now += WINDOW_MS;
    await relay.drain();
    expect(dry.dispatched.flatMap((d) => batchOf(d).file_ids)).toEqual(ids);
  });

  it('sends a batch without an image deleted while it waited', async () => {
    await setup(10);
    const ids = acceptBatchImages(3);
    await expectJson(
      await t.app.request(`/api/admin/images/${ids[1]}`, { method: 'DELETE', headers: admin() }),
      200,
    );
    t.clock.now += WINDOW_MS;
    await relay.drain();
    const dry = t.dispatcher as DryRunDispatcher;
    expect(dry.dispatched.map((d) => batchOf(d).file_ids)).toEqual([[ids[0], ids[2]]]);
  });

  describe('through the real Cloud Tasks client', () => {
    let fake: FakeCloudTasksServer;
    beforeAll(async () => {
      fake = await startFakeCloudTasksServer();
    });
    afterAll(async () => {
      await fake.close();
    });

    it('retries a failed batch under the name it was given, and counts ALREADY_EXISTS after a crash as sent', async () => {
      fake.reset();
      const dispatcher = loopbackDispatcher(fake.url);
      try {
        await setup(3, { dispatcher });
        const ids = acceptBatchImages(3);
        fake.failNext(503);
        await relay.drain();
        const rows = t.db.prepare('SELECT batch_key, attempts FROM outbox ORDER BY id').all();
        const key = batchTaskNameFor(ids.map((imageId) => ({ imageId, generation: 0 })));
        expect(rows).toEqual(ids.map(() => ({ batch_key: key, attempts: 1 })));
        expect(t.repos.images.get(ids[0] as string)?.status).toBe('uploaded');
        // Another image arrives; the failed batch keeps its members and its name.
        acceptBatchImages(1);
        t.clock.now += 60_000;
        await relay.drain();
        const name = `projects/p/locations/l/queues/image-ingest/tasks/${key}`;
        expect(fake.tasks.has(name)).toBe(true);
        const task = fake.tasks.get(name) as { httpRequest: { body: string } } | undefined;
        const body = JSON.parse(
          Buffer.from(String(task?.httpRequest.body), 'base64').toString('utf8'),
        );
        expect(JSON.parse(body.argument)).toEqual({ file_ids: ids, generations: [0, 0, 0] });
        expect(body.labels).toEqual({ dispatch_key: key });
        // A crash between createTask and the delete: the rows come back and go again.
        const created = fake.createdCount;
        for (const id of ids) {
          t.repos.outbox.add({
            imageId: id,
            generation: 0,
            queue: 'ingest',
            taskName: taskNameFor(id, 0),
            now: t.clock.now,
          });
        }
        t.db
          .prepare('UPDATE outbox SET batch_key = ? WHERE image_id IN (?, ?, ?)')
          .run(key, ...ids);
        await relay.drain();
        expect(fake.createdCount).toBe(created);
        expect(
          t.db.prepare('SELECT count(*) AS n FROM outbox WHERE batch_key = ?').get(key),
        ).toEqual({ n: 0 });
      } finally {
        await dispatcher.close?.();
      }
    });
  });
});
