/**
 * The next generation of an image (docs/architecture.md, "Generations"): a
 * retry and the reaper's re-dispatch go above every generation the image and
 * its regenerations ever used, so a retry after a failed regeneration is not
 * taken for that regeneration, and its processor's reports settle the image.
 * Through `app.request()` on the real builder, a real SQLite file and folder
 * store; the image is failed the way the reconcile fails it after a restore.
 */
import { CallbackAnswer, ReconcileVariantsAnswer } from '@slideshow/contracts';
import { taskNameFor } from '@slideshow/dispatch';
import { afterEach, describe, expect, it } from 'vitest';
import { admin, callback, expectAnswer, expectJson, sampleResult } from './helpers.ts';
import { type RegenHarness, regenHarness } from './regen-harness.ts';

describe('the next generation of an image', () => {
  let h: RegenHarness | undefined;
  afterEach(() => h?.t.cleanup());

  /**
   * An image processed at generation 0 whose regeneration failed (the processor found no
   * original), then failed by the reconcile's VARIANTS_MISSING transition; returns its id and
   * the regeneration's generation.
   */
  async function failedAfterFailedRegeneration(harness: RegenHarness) {
    const [id] = (await harness.processed(1)) as [string];
    await harness.start();
    expect((await harness.tick()).dispatched).toBe(1);
    const regenerated = harness.items('dispatched')[0]?.generation;
    if (regenerated === undefined || regenerated === null) throw new Error('no regeneration sent');
    expect(regenerated).toBe(1);
    expect(await harness.fail(id, regenerated, 'NOT_FOUND')).toEqual({ applied: true });
    expect(harness.t.repos.images.get(id)).toMatchObject({ status: 'processed', generation: 0 });
    // The sample result's variants were never written: the reconcile finds them missing.
    const check = await expectAnswer(
      ReconcileVariantsAnswer,
      await harness.t.app.request('/api/admin/reconcile/variants', {
        method: 'POST',
        headers: admin({ 'Content-Type': 'application/json' }),
        body: JSON.stringify({ dryRun: false, after: '', limit: 10 }),
      }),
      200,
    );
    expect(check.findings).toMatchObject([{ imageId: id, code: 'VARIANTS_MISSING', failed: true }]);
    expect(harness.t.repos.images.get(id)).toMatchObject({ status: 'failed', generation: 0 });
    return { id, regenerated };
  }

  /** The processor's `started` then `complete` for `generation`, both answered. */
  async function processAt(harness: RegenHarness, id: string, generation: number) {
    const send = async (kind: 'started' | 'complete', body: Record<string, unknown>) =>
      expectAnswer(
        CallbackAnswer,
        await harness.t.app.request(`/api/processing/${id}/${kind}`, {
          method: 'POST',
          headers: callback(),
          body: JSON.stringify(body),
        }),
        200,
      );
    const execution = `retry-exec-${generation}`;
    return {
      started: await send('started', { generation, execution, attempt: 0 }),
      complete: await send('complete', { generation, execution, result: sampleResult() }),
    };
  }

  /** The admin's retry of `id` through the API, its dispatch sent; returns the new generation. */
  async function retry(harness: RegenHarness, id: string): Promise<number> {
    await expectJson(
      await harness.t.app.request(`/api/admin/images/${id}/retry`, {
        method: 'POST',
        headers: admin(),
      }),
      202,
    );
    await harness.t.relay.drain();
    const row = harness.t.repos.images.get(id);
    expect(row?.status).toBe('queued');
    return row?.generation ?? -1;
  }

  it("retries an image above its failed regeneration's generation, and the retry's complete processes it", async () => {
    h = await regenHarness({});
    const { id, regenerated } = await failedAfterFailedRegeneration(h);

    const generation = await retry(h, id);
    expect(generation).toBeGreaterThan(regenerated);
    // A task name of its own, and the workflow argument names the same generation.
    expect(h.t.dispatcher.dispatched.at(-1)).toMatchObject({
      key: taskNameFor(id, generation),
      argument: { file_id: id, generation },
    });

    expect(await processAt(h, id, generation)).toEqual({
      started: { applied: true },
      complete: { applied: true },
    });
    expect(h.t.repos.images.get(id)).toMatchObject({ status: 'processed', generation });
    expect(h.t.repos.failedTasks.get(id)?.resolved_at).not.toBeNull();
  });

  it("re-dispatches a stuck retry above every generation used, and the re-dispatch's complete processes it", async () => {
    h = await regenHarness({});
    const { id, regenerated } = await failedAfterFailedRegeneration(h);
    const retried = await retry(h, id);
    expect(retried).toBeGreaterThan(regenerated);

    // Nothing heard of the retry for over an hour; the dry-run dispatcher cannot say where it is.
    h.t.clock.now += 61 * 60_000;
    expect((await h.t.backend.reaper.runOnce()).redispatched).toEqual([id]);
    await h.t.relay.drain();
    const generation = h.t.repos.images.get(id)?.generation ?? -1;
    expect(generation).toBe(retried + 1);
    expect(await processAt(h, id, generation)).toEqual({
      started: { applied: true },
      complete: { applied: true },
    });
    expect(h.t.repos.images.get(id)).toMatchObject({ status: 'processed', generation });
  });

  it("leaves a report about the image's own generation to the image, even when a finished regeneration used it before", async () => {
    // What a retry made before this rule left behind: the image requeued at its failed
    // regeneration's generation, by hand here.
    h = await regenHarness({});
    const { id, regenerated } = await failedAfterFailedRegeneration(h);
    h.t.db
      .prepare(`UPDATE images SET status = 'queued', generation = ? WHERE id = ?`)
      .run(regenerated, id);

    expect(await processAt(h, id, regenerated)).toEqual({
      started: { applied: true },
      complete: { applied: true },
    });
    expect(h.t.repos.images.get(id)).toMatchObject({
      status: 'processed',
      generation: regenerated,
    });
    // The regeneration stays what it was.
    expect(h.items()).toEqual([
      { image_id: id, state: 'failed', generation: regenerated, error_code: 'NOT_FOUND' },
    ]);
  });

  it('sends the next regeneration above a retry that went above a failed one', async () => {
    h = await regenHarness({});
    const { id, regenerated } = await failedAfterFailedRegeneration(h);
    const retried = await retry(h, id);
    expect(retried).toBeGreaterThan(regenerated);
    await processAt(h, id, retried);
    // The first run ends at its next pass (its one image failed); a new run takes over the
    // failed item, and its generation is above the processed retry's.
    await h.tick();
    await h.start();
    expect((await h.tick()).dispatched).toBe(1);
    expect(h.items('dispatched')).toEqual([
      { image_id: id, state: 'dispatched', generation: retried + 1, error_code: null },
    ]);
  });
});
