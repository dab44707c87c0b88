/**
 * Regeneration runs that cannot run away (docs/operations.md, "Presets and
 * regeneration"), through `app.request()` on the real builder, a real SQLite
 * file and folder store: the failure cap, the hourly execution cap on an
 * injected clock, the per-run execution cap (every counted dispatch sent), the
 * stuck timeout, pause withdrawing unbatched dispatches (and their count),
 * idempotence by (image, preset version), the begun marker its job spec
 * carries, and outputs never starting processing. The processor's reports are
 * HTTP callbacks.
 */
import { RegenOverviewAnswer, StatusAnswer } from '@slideshow/contracts';
import { DEFAULT_PRESET } from '@slideshow/imaging/header';
import { afterEach, describe, expect, it } from 'vitest';
import { admin, callback, expectAnswer, expectJson } from './helpers.ts';
import { type RegenHarness, regenHarness } from './regen-harness.ts';

const MINUTE = 60_000;

describe('regeneration runs', () => {
  let h: RegenHarness | undefined;
  afterEach(() => h?.t.cleanup());

  /** The image's served generation and where its slideshow entry points. */
  const serving = async (id: string) => {
    const row = h!.t.repos.images.get(id)!;
    const feed = await expectJson<{ images: { id: string; src: string }[] }>(
      await h!.t.app.request('/api/slideshow'),
      200,
    );
    return {
      status: row.status,
      generation: row.generation,
      src: feed.images.find((i) => i.id === id)?.src,
    };
  };

  it('ends a run as capped with its reason once its failed images reach the failure cap, cancelling what it had not sent', async () => {
    h = await regenHarness({ maxFailures: 2, ratePerMinute: 3 });
    const ids = await h.processed(5);
    const run = await h.start();
    expect(run).toMatchObject({ status: 'running', total: 5 });
    expect((await h.tick()).dispatched).toBe(3);
    const sent = h.items('dispatched');
    await h.fail(sent[0]!.image_id, sent[0]!.generation!);
    await h.fail(sent[1]!.image_id, sent[1]!.generation!);

    expect((await h.tick()).dispatched).toBe(0);
    const capped = await h.run(run.id);
    expect(capped).toMatchObject({
      status: 'capped',
      failed: 2,
      cancelled: 2,
      inFlight: 1,
      executions: 3,
    });
    expect(capped.reason).toBe(
      'stopped after 2 failed images (cap 2); their old variants keep serving',
    );
    // Capped for good: later passes send nothing.
    await h.tick(10 * MINUTE);
    expect(h.ingestDispatches().flatMap((d) => d.ids)).toHaveLength(3);
    for (const item of sent.slice(0, 2)) {
      expect(h.t.repos.failedTasks.get(item.image_id)).toMatchObject({
        error_code: 'CORRUPT_IMAGE',
        source: 'regenerate',
        resolved_at: null,
      });
    }
    for (const id of ids) {
      expect(await serving(id)).toEqual({
        status: 'processed',
        generation: 0,
        src: `/media/variants/${id}/${DEFAULT_PRESET}/g0/w640.jpg`,
      });
    }
  });

  it('sends no more than the hourly cap in any hour, then carries on an hour after the earlier dispatches', async () => {
    h = await regenHarness({ maxExecutionsPerHour: 2, ratePerMinute: 600 });
    await h.processed(5);
    const run = await h.start();
    expect((await h.tick()).dispatched).toBe(2);
    for (const item of h.items('dispatched')) await h.complete(item.image_id, item.generation!);
    // Nothing in flight, plenty of rate, but the hour's two are spent.
    expect((await h.tick()).dispatched).toBe(0);
    expect((await h.tick(58 * MINUTE)).dispatched).toBe(0);
    expect((await h.run(run.id)).status).toBe('running');
    // An hour and a minute after the first two were sent: two more, never the remaining three at once.
    expect((await h.tick(2 * MINUTE)).dispatched).toBe(2);
    expect(await h.run(run.id)).toMatchObject({ status: 'running', executions: 4, done: 2 });
  });

  it('fails a regeneration nothing was heard of after stuckAfterMs whose dispatch is nowhere (STUCK), keeps the old set serving, ignores a late report and ends the run saying every image failed', async () => {
    // The dry-run dispatcher knows no task and no execution: every dispatch is nowhere.
    const stuckAfterMs = 10 * MINUTE;
    h = await regenHarness({ stuckAfterMs, graceMs: 60 * MINUTE });
    const [id] = (await h.processed(1)) as [string];
    const run = await h.start();
    expect((await h.tick()).dispatched).toBe(1);
    const generation = h.items('dispatched')[0]!.generation!;
    const check = () => h!.t.backend.services.regen.checkLostDispatches();
    await h.tick(stuckAfterMs - MINUTE);
    expect((await check()).failed).toEqual([]);
    await h.tick(2 * MINUTE);
    expect((await check()).failed).toEqual([id]);

    expect(h.items()).toEqual([{ image_id: id, state: 'failed', generation, error_code: 'STUCK' }]);
    expect(h.t.repos.failedTasks.get(id)).toMatchObject({
      error_code: 'STUCK',
      source: 'regenerate',
    });
    expect(h.t.repos.failedTasks.get(id)?.error_message).toMatch(
      /its dispatch ended \(no workflow execution found\) without a report/,
    );
    const old = {
      status: 'processed',
      generation: 0,
      src: `/media/variants/${id}/${DEFAULT_PRESET}/g0/w640.jpg`,
    };
    expect(await serving(id)).toEqual(old);
    // The processor reports after all: too late, the set it made is not switched to.
    expect(await h.complete(id, generation)).toMatchObject({ applied: false });
    expect(await serving(id)).toEqual(old);
    await h.tick();
    // Done, but not silently: nothing was made, and the reason says so.
    expect(await h.run(run.id)).toMatchObject({
      status: 'done',
      failed: 1,
      done: 0,
      reason:
        'every image failed (1); their old variants keep serving: see failed_tasks (source regenerate)',
    });
  });

  it('takes the ETA from the time the run ran: none while paused, and a 10 h pause leaves it as it was (before: 108 s became 249 s after a 90 s pause)', async () => {
    h = await regenHarness({});
    await h.processed(4);
    const run = await h.start();
    expect((await h.tick()).dispatched).toBe(4);
    h.t.clock.now += MINUTE;
    const [first] = h.items('dispatched');
    await h.complete(first!.image_id, first!.generation!);
    // One image a minute since the first dispatch, three to go.
    expect((await h.run(run.id)).etaSeconds).toBe(180);

    expect((await h.action(run.id, 'pause')).etaSeconds).toBeNull();
    h.t.clock.now += 10 * 60 * MINUTE;
    expect((await h.run(run.id)).etaSeconds).toBeNull();
    expect((await h.action(run.id, 'resume')).etaSeconds).toBe(180);
    // The clock runs on from the resume only.
    h.t.clock.now += MINUTE;
    expect((await h.run(run.id)).etaSeconds).toBe(360);
  });

  it('withdraws on pause the dispatches the relay has not batched, keeps the batched ones in flight, and sends the rest on resume', async () => {
    h = await regenHarness({ ratePerMinute: 600 }, { ingest: 2, batchWindowMs: 10 * MINUTE });
    // A run takes its images oldest first, then by id (all three share a creation time).
    const ids = (await h.processed(3)).sort();
    const run = await h.start();
    expect((await h.tick()).dispatched).toBe(3);
    // One full batch of two went; the third waits for its batch window.
    expect(h.ingestDispatches()).toEqual([{ ids: ids.slice(0, 2), generations: [1, 1] }]);
    expect(h.outboxRows()).toBe(1);

    // An execution is a dispatch that reached the queue: the withdrawn one no longer counts.
    const sentIds = () => h!.ingestDispatches().flatMap((d) => d.ids).length;
    expect(await h.action(run.id, 'pause')).toMatchObject({
      status: 'paused',
      inFlight: 2,
      remaining: 3,
      executions: 2,
    });
    expect(sentIds()).toBe(2);
    expect(h.outboxRows()).toBe(0);
    expect(h.items().map((i) => i.state)).toEqual(['dispatched', 'dispatched', 'pending']);
    // Paused: a pass past the batch window sends nothing.
    expect((await h.tick(11 * MINUTE)).dispatched).toBe(0);
    expect(h.ingestDispatches()).toHaveLength(1);

    await h.action(run.id, 'resume');
    expect((await h.tick()).dispatched).toBe(1);
    h.t.clock.now += 11 * MINUTE;
    await h.t.relay.drain();
    expect(h.ingestDispatches()).toEqual([
      { ids: ids.slice(0, 2), generations: [1, 1] },
      { ids: [ids[2]], generations: [1] },
    ]);
    // Sent again after the resume, it counts once: three images, three executions.
    expect(sentIds()).toBe(3);
    expect((await h.run(run.id)).executions).toBe(3);
  });

  it('ends a run at its execution cap with the dispatches within the cap still going out, each counted once', async () => {
    h = await regenHarness({ ratePerMinute: 600 }, { ingest: 5, batchWindowMs: 10 * MINUTE });
    await h.processed(4);
    const run = await h.start({ caps: { maxExecutions: 2 } });
    expect((await h.tick()).dispatched).toBe(2);
    // Both wait for their batch window when the next pass finds the cap reached.
    expect(h.outboxRows()).toBe(2);
    await h.tick();
    expect(await h.run(run.id)).toMatchObject({
      status: 'capped',
      executions: 2,
      inFlight: 2,
      cancelled: 2,
      reason: 'stopped at the cap of 2 executions per run with 2 images not dispatched',
    });
    expect(h.outboxRows()).toBe(2);
    h.t.clock.now += 11 * MINUTE;
    await h.t.relay.drain();
    expect(h.ingestDispatches().flatMap((d) => d.ids)).toHaveLength(2);
    expect((await h.run(run.id)).executions).toBe(2);
  });

  it('refuses a filter whose `from` is not earlier than its `to`, starting nothing', async () => {
    h = await regenHarness({});
    await h.processed(1);
    for (const dryRun of [true, false]) {
      const refused = await h.post(
        { dryRun, filter: { from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00+00:00' } },
        400,
      );
      expect(refused).toMatchObject({
        error: {
          code: 'VALIDATION_FAILED',
          message: expect.stringContaining('filter.from: `from` must be earlier than `to`'),
        },
      });
    }
    const same = { from: '2026-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' };
    await h.post({ filter: same }, 400);
    expect(h.items()).toEqual([]);
    expect(await h.post({ dryRun: true, filter: { from: same.from } }, 200)).toMatchObject({
      images: 1,
    });
  });

  it('refuses a filter with an id this backend never makes or a field it does not know, starting nothing', async () => {
    h = await regenHarness({});
    const [id] = (await h.processed(1)) as [string];
    const badId = await h.post({ filter: { ids: [id, 'img_../x'] } }, 400);
    expect(badId).toMatchObject({
      error: { code: 'VALIDATION_FAILED', message: expect.stringContaining('filter.ids.1') },
    });
    const misspelt = await h.post({ dryRun: true, filter: { visiblity: 'hidden' } }, 400);
    expect(misspelt).toMatchObject({
      error: { code: 'VALIDATION_FAILED', message: expect.stringContaining('visiblity') },
    });
    expect(h.items()).toEqual([]);
    expect(await h.post({ dryRun: true, filter: { ids: [id] } }, 200)).toMatchObject({
      images: 1,
      filter: { ids: [id] },
    });
  });

  it('makes each image once per preset version: a second run for the same version finds nothing and sends nothing', async () => {
    h = await regenHarness({ ratePerMinute: 600 });
    const ids = await h.processed(3);
    const first = await h.start();
    await h.tick();
    for (const item of h.items('dispatched')) await h.complete(item.image_id, item.generation!);
    await h.tick();
    expect(await h.run(first.id)).toMatchObject({ status: 'done', done: 3, reason: null });
    const sent = h.ingestDispatches();

    expect(await h.post({ dryRun: true }, 200)).toMatchObject({ images: 0 });
    expect(await h.post({ dryRun: true, filter: { ids } }, 200)).toMatchObject({ images: 0 });
    const second = await h.start({ filter: { ids } });
    expect(second).toMatchObject({ status: 'done', total: 0, reason: 'nothing to regenerate' });
    const overview = await expectAnswer(
      RegenOverviewAnswer,
      await h.t.app.request('/api/admin/regenerate', { headers: admin() }),
      200,
    );
    expect(overview.run?.id).toBe(second.id);
    expect(overview.runs.map((r) => r.id)).toEqual([second.id, first.id]);
    const status = await expectAnswer(StatusAnswer, await h.t.app.request('/status'), 200);
    expect(status.regeneration).toEqual({
      id: second.id,
      status: 'done',
      preset: DEFAULT_PRESET,
      total: 0,
      done: 0,
      failed: 0,
      remaining: 0,
      etaSeconds: 0,
    });
    await h.tick();
    expect(h.ingestDispatches()).toEqual(sent);
    expect(h.items()).toHaveLength(3);
    for (const id of ids)
      expect((await serving(id)).src).toBe(`/media/variants/${id}/${DEFAULT_PRESET}/g1/w640.jpg`);
  });

  it("records a regeneration's `started` so its job spec tells a begun image from a never-begun one, afresh at each dispatch", async () => {
    h = await regenHarness({ ratePerMinute: 600 });
    const [begun, fresh] = (await h.processed(2)) as [string, string];
    await h.start({ filter: { ids: [begun, fresh] } });
    expect((await h.tick()).dispatched).toBe(2);
    const generationOf = (id: string) => h!.items().find((i) => i.image_id === id)!.generation!;
    const startedAt = (id: string) =>
      h!.t.db
        .prepare<[string], { started_at: number | null }>(
          'SELECT started_at FROM regen_items WHERE image_id = ?',
        )
        .get(id)?.started_at;
    for (const id of [begun, fresh]) {
      expect(await h.jobSpec(id, generationOf(id))).toMatchObject({
        status: 'regenerating',
        begun: false,
      });
    }

    expect(await h.started(begun, generationOf(begun))).toEqual({ applied: true });
    const first = h.t.clock.now;
    h.t.clock.now += MINUTE;
    // A retry's `started` again: the first one counts.
    expect(await h.started(begun, generationOf(begun))).toEqual({ applied: true });
    expect(startedAt(begun)).toBe(first);
    expect(startedAt(fresh)).toBeNull();
    expect(await h.jobSpec(begun, generationOf(begun))).toMatchObject({
      status: 'regenerating',
      begun: true,
    });
    expect(await h.jobSpec(fresh, generationOf(fresh))).toMatchObject({ begun: false });
    // The image's own job spec is about its own (processed) generation.
    expect(
      await expectJson(
        await h.t.app.request(`/api/processing/${begun}`, { headers: callback() }),
        200,
      ),
    ).toMatchObject({ generation: 0, status: 'processed', begun: false });

    // Failed, then taken over by a later run at a new generation: never begun at that one.
    await h.fail(begun, generationOf(begun));
    expect(await h.started(begun, generationOf(begun))).toMatchObject({ applied: false });
    await h.complete(fresh, generationOf(fresh));
    await h.tick();
    const failedAt = generationOf(begun);
    await h.start({ filter: { ids: [begun] } });
    await h.tick();
    expect(generationOf(begun)).toBeGreaterThan(failedAt);
    expect(startedAt(begun)).toBeNull();
    expect(await h.jobSpec(begun, generationOf(begun))).toMatchObject({ begun: false });
  });

  it('never starts processing from its outputs: a switch adds no outbox row, variants are refused as ingest sources, old sets go after the grace period', async () => {
    const graceMs = 30 * MINUTE;
    h = await regenHarness({ ratePerMinute: 600, graceMs });
    const ids = await h.processed(2);
    await h.start();
    await h.tick();
    for (const id of ids) {
      for (const g of ['g0', 'g1']) {
        await h.t.store.put(`variants/${id}/${DEFAULT_PRESET}/${g}/w640.jpg`, Buffer.from('jpeg'), {
          contentType: 'image/jpeg',
        });
      }
    }
    for (const item of h.items('dispatched')) await h.complete(item.image_id, item.generation!);
    expect(h.outboxRows()).toBe(0);

    const ingest = await expectJson<{ images: { id?: string; error?: { code: string } }[] }>(
      await h.t.app.request('/api/admin/ingest', {
        method: 'POST',
        headers: admin({ 'Content-Type': 'application/json' }),
        body: JSON.stringify({ keys: [`variants/${ids[0]}/${DEFAULT_PRESET}/g1/w640.jpg`] }),
      }),
      202,
    );
    expect(ingest.images).toEqual([
      expect.objectContaining({ error: expect.objectContaining({ code: 'VALIDATION_FAILED' }) }),
    ]);
    const byPrefix = await expectJson<{ images: unknown[] }>(
      await h.t.app.request('/api/admin/ingest', {
        method: 'POST',
        headers: admin({ 'Content-Type': 'application/json' }),
        body: JSON.stringify({ prefix: 'variants/' }),
      }),
      202,
    );
    expect(byPrefix.images).toEqual([]);
    expect(h.t.db.prepare('SELECT count(*) AS n FROM images').get()).toEqual({ n: 2 });

    // Before the grace period both sets stay; after it the replaced one goes, the served one stays.
    expect((await h.tick(graceMs - MINUTE)).deleted).toBe(0);
    expect((await h.tick(2 * MINUTE)).deleted).toBe(2);
    for (const id of ids) {
      expect(await h.t.store.stat(`variants/${id}/${DEFAULT_PRESET}/g0/w640.jpg`)).toBeUndefined();
      expect(await h.t.store.stat(`variants/${id}/${DEFAULT_PRESET}/g1/w640.jpg`)).toBeDefined();
    }
    expect(h.outboxRows()).toBe(0);
    expect(h.ingestDispatches()).toHaveLength(1);
  });
});
