/**
 * A failed attempt's partial variant set does not stay forever once the image
 * is retried at a new generation (src/orphan-sweeper.ts, "Superseded variant
 * sets"): after the sweeper's grace period it goes through the regenerator's
 * grace deletion, while the recorded set, a regeneration's serving set and a
 * set a regeneration replaced (until its own later date) stay. The real
 * builder over a real SQLite file and folder store, reports as HTTP callbacks.
 */
import { DEFAULT_PRESET } from '@slideshow/imaging/header';
import { afterEach, describe, expect, it } from 'vitest';
import { createOrphanSweeper } from '../src/orphan-sweeper.ts';
import {
  admin,
  callback,
  expectJson,
  makeApp,
  memoryLogger,
  sampleResult,
  type TestApp,
  uploadPng,
} from './helpers.ts';
import { type RegenHarness, regenHarness } from './regen-harness.ts';

const GRACE_MS = 60 * 60_000;
const MINUTE = 60_000;

const log = memoryLogger();

/** A sweeper over `t` whose clock is the app's (files carry real times: the app runs on real time). */
const sweeperOf = (t: TestApp) =>
  createOrphanSweeper({
    store: t.store,
    repos: t.repos,
    logger: log.logger,
    graceMs: GRACE_MS,
    intervalMs: GRACE_MS,
    now: () => t.clock.now,
  });

const put = (t: TestApp, key: string) =>
  t.store.put(key, Buffer.from(key), { contentType: 'image/webp' });

async function keys(t: TestApp, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of t.store.list(prefix)) out.push(o.key);
  return out.sort();
}

const pending = (t: TestApp) =>
  t.db.prepare('SELECT prefix FROM deferred_deletions ORDER BY prefix').all() as {
    prefix: string;
  }[];

describe('superseded variant sets of a retried image', () => {
  let t: TestApp | undefined;
  let h: RegenHarness | undefined;
  afterEach(() => {
    t?.cleanup();
    h?.t.cleanup();
    t = undefined;
    h = undefined;
  });

  /** A processed image (in `h`) whose regeneration is dispatched, both sets stored. */
  async function regenerationInFlight(regenGraceMs: number) {
    h = await regenHarness({ ratePerMinute: 600, graceMs: regenGraceMs });
    h.t.clock.now = Date.now();
    const [id] = await h.processed(1);
    if (!id) throw new Error('no image');
    await h.start();
    await h.tick(0);
    const item = h.items('dispatched')[0];
    if (!item?.generation)
      throw new Error(`no dispatched regeneration: ${JSON.stringify(h.items())}`);
    const served = `variants/${id}/${DEFAULT_PRESET}/g0/w640.jpg`;
    const made = `variants/${id}/${DEFAULT_PRESET}/g${item.generation}/w640.jpg`;
    await put(h.t, served);
    await put(h.t, made);
    return { h, id, item: { ...item, generation: item.generation }, served, made };
  }

  /** A processed image switched to a regeneration's set, its replaced set scheduled for later. */
  async function regenerated(regenGraceMs: number) {
    const { h, id, item } = await regenerationInFlight(regenGraceMs);
    await h.complete(id, item.generation);
    expect(pending(h.t)).toEqual([{ prefix: `variants/${id}/${DEFAULT_PRESET}/g0/` }]);
    return { h, id };
  }

  it("deletes a failed attempt's partial set after the grace period, once the image moved to a new generation, and keeps the recorded one", async () => {
    t = await makeApp();
    t.clock.now = Date.now();
    const app = t;
    const report = async (id: string, step: string, body: Record<string, unknown>) =>
      expectJson(
        await app.app.request(`/api/processing/${id}/${step}`, {
          method: 'POST',
          headers: callback(),
          body: JSON.stringify(body),
        }),
        200,
      );
    const id = await uploadPng(t, 5);
    await t.relay.drain();
    const at = (g: number, suffix: string) => `variants/${id}/${DEFAULT_PRESET}/g${g}/${suffix}`;

    // Generation 0 writes one variant, then the disk fills: the final attempt reports it.
    await report(id, 'started', { generation: 0, execution: 'job/0', attempt: 3 });
    await put(t, at(0, 'w320.webp'));
    await report(id, 'failed', {
      generation: 0,
      source: 'processor',
      code: 'STORAGE_FULL',
      message: 'no space left (ENOSPC)',
      execution: 'job/0',
    });
    // Still failed at generation 0: nothing is superseded yet, however old the set.
    t.clock.now += 2 * GRACE_MS;
    expect(await sweeperOf(t).sweepOnce()).toEqual([]);
    expect(pending(t)).toEqual([]);

    // The admin retries; generation 1 is processed and recorded.
    await expectJson(
      await t.app.request(`/api/admin/images/${id}/retry`, { method: 'POST', headers: admin() }),
      202,
    );
    await t.relay.drain();
    const result = sampleResult({ preset: DEFAULT_PRESET });
    const recorded = result.variants.map((v) => at(1, v.suffix)).sort();
    for (const key of recorded) await put(t, key);
    await report(id, 'complete', { generation: 1, execution: 'job/1', result });

    // Within the grace period after the last write of generation 0 (a late attempt may
    // still be writing it): nothing is scheduled.
    t.clock.now = Date.now() + GRACE_MS - MINUTE;
    await sweeperOf(t).sweepOnce();
    expect(pending(t)).toEqual([]);

    t.clock.now = Date.now() + GRACE_MS + MINUTE;
    expect(await sweeperOf(t).sweepOnce()).toEqual([]);
    expect(pending(t)).toEqual([{ prefix: `variants/${id}/${DEFAULT_PRESET}/g0/` }]);
    expect(log.lines.at(-1)).toMatchObject({
      severity: 'INFO',
      message: 'superseded variant sets scheduled for deletion',
      count: 1,
      prefixes: [`variants/${id}/${DEFAULT_PRESET}/g0/`],
    });
    expect(await t.backend.services.regen.tick()).toMatchObject({ deleted: 1 });
    expect(await keys(t, `variants/${id}/`)).toEqual(recorded);
    expect(pending(t)).toEqual([]);
  });

  it("never deletes a regeneration's serving set, and keeps the set it replaced until the regeneration's own grace period ends", async () => {
    const regenGraceMs = 24 * GRACE_MS;
    const { id, item, served, made } = await regenerationInFlight(regenGraceMs);
    if (!h) throw new Error('no harness');

    // In flight (above the image's generation): the sweeper leaves the new set alone.
    h.t.clock.now = Date.now() + 2 * GRACE_MS;
    expect(await sweeperOf(h.t).sweepOnce()).toEqual([]);
    expect(pending(h.t)).toEqual([]);

    // The switch: the new set serves, the old one is scheduled for the regeneration's grace.
    await h.complete(id, item.generation);
    expect(pending(h.t)).toEqual([{ prefix: `variants/${id}/${DEFAULT_PRESET}/g0/` }]);
    // Past the sweeper's grace but within the regeneration's: the old set keeps its date.
    expect(await sweeperOf(h.t).sweepOnce()).toEqual([]);
    expect((await h.tick(0)).deleted).toBe(0);
    expect(await keys(h.t, `variants/${id}/`)).toEqual([served, made].sort());

    expect((await h.tick(regenGraceMs)).deleted).toBe(1);
    expect(await sweeperOf(h.t).sweepOnce()).toEqual([]);
    expect((await h.tick(0)).deleted).toBe(0);
    expect(await keys(h.t, `variants/${id}/`)).toEqual([made]);
  });
  it('logs only the superseded sets a pass scheduled, not those a regeneration scheduled for later', async () => {
    const { h } = await regenerated(24 * GRACE_MS);
    // Past the sweeper's grace, within the regeneration's: the pass sees the replaced set on
    // every run, and schedules nothing (the regeneration's later date stands).
    h.t.clock.now = Date.now() + 2 * GRACE_MS;
    const before = log.lines.length;
    for (let pass = 0; pass < 3; pass++) expect(await sweeperOf(h.t).sweepOnce()).toEqual([]);
    expect(
      log.lines
        .slice(before)
        .filter((l) => l.message === 'superseded variant sets scheduled for deletion'),
    ).toEqual([]);
  });

  it('deleting a regenerated image within its grace period takes its scheduled deletions with it', async () => {
    const { h, id } = await regenerated(24 * GRACE_MS);
    expect(h.t.backend.services.regen.pendingDeletions().count).toBe(1);
    await expectJson(
      await h.t.app.request(`/api/admin/images/${id}`, { method: 'DELETE', headers: admin() }),
      200,
    );
    // Both sets went with the delete; nothing is left to delete later, nor counted as pending.
    expect(await keys(h.t, `variants/${id}/`)).toEqual([]);
    expect(pending(h.t)).toEqual([]);
    expect(h.t.backend.services.regen.pendingDeletions().count).toBe(0);
  });
});
