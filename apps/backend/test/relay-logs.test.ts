/**
 * The backend's lines on an image's way to its task name the image at the
 * default level (INFO), under the field names every other line on that way
 * uses (docs/operations.md, "Monitoring"): an ingested object's acceptance,
 * and the outbox relay's `dispatched` — `imageId` for an upload's single
 * dispatch, `imageIds` for an ingest batch — with the `dispatchKey` that
 * names the task local-cloud's Cloud Tasks lines name.
 */
import { UploadAnswer } from '@slideshow/contracts';
import { batchTaskNameFor, taskNameFor } from '@slideshow/dispatch';
import { afterEach, describe, expect, it } from 'vitest';
import {
  admin,
  expectAnswer,
  makeApp,
  makePng,
  memoryLogger,
  type TestApp,
  uploadPng,
} from './helpers.ts';

describe("the relay's and an ingest's log lines", () => {
  let t: TestApp | undefined;
  afterEach(() => {
    t?.cleanup();
    t = undefined;
  });

  it("names an upload's image on its dispatched line, with the task's dispatch key", async () => {
    const memory = memoryLogger();
    t = await makeApp({ logger: memory.logger });
    const id = await uploadPng(t, 21);
    await t.relay.drain();
    const dispatched = memory.lines.filter((l) => l.message === 'dispatched');
    expect(dispatched).toEqual([
      expect.objectContaining({
        severity: 'INFO',
        imageId: id,
        generation: 0,
        dispatchKey: taskNameFor(id, 0),
        queue: 'uploads',
      }),
    ]);
  });

  it('names each ingested image when accepted, and every image of its batch when dispatched', async () => {
    const memory = memoryLogger();
    t = await makeApp({
      logger: memory.logger,
      relay: { imagesPerExecution: { ingest: 3 } },
    });
    const keys = ['incoming/a.png', 'incoming/b.png', 'incoming/c.png'];
    for (const [i, key] of keys.entries()) {
      await t.store.put(key, makePng(8, 8, 30 + i), { contentType: 'image/png' });
    }
    const answer = await expectAnswer(
      UploadAnswer,
      await t.app.request('/api/admin/ingest', {
        method: 'POST',
        headers: admin({ 'Content-Type': 'application/json' }),
        body: JSON.stringify({ keys }),
      }),
      202,
    );
    const ids = answer.images.map((image) => ('id' in image ? image.id : 'refused'));
    const accepted = memory.lines.filter((l) => l.message === 'image accepted');
    expect(accepted.map((l) => [l.imageId, l.key, l.via])).toEqual(
      keys.map((key, i) => [ids[i], key, 'ingest']),
    );

    await t.relay.drain();
    const dispatched = memory.lines.filter((l) => l.message === 'dispatched');
    expect(dispatched).toEqual([
      expect.objectContaining({
        severity: 'INFO',
        imageIds: ids,
        generations: [0, 0, 0],
        dispatchKey: batchTaskNameFor(ids.map((imageId) => ({ imageId, generation: 0 }))),
        queue: 'ingest',
      }),
    ]);
  });
});
