/**
 * Bulk retry of thousands of failed tasks keeps the server responsive
 * (docs/security.md, "Production backend"): the work is done in batches with
 * the event loop free between them, so a request that arrives meanwhile is
 * answered while the retry is part-way through — observed as a `/status`
 * answer that sees some images retried and others not yet (no timing).
 * And a failed regeneration's row (docs/operations.md, "Presets and
 * regeneration") is listed as not retryable, left out of the count the
 * console confirms, and refused by the one-image retry with its cause.
 */
import { createHash } from 'node:crypto';
import {
  BulkActionAnswer,
  BulkRetryAnswer,
  FailedTasksAnswer,
  ImageDetailAnswer,
  LibraryLookupAnswer,
  LibraryPageAnswer,
} from '@slideshow/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newImageId } from '../src/ids.ts';
import { admin, expectAnswer, expectJson, makeApp, type TestApp } from './helpers.ts';
import { type RegenHarness, regenHarness } from './regen-harness.ts';

/** Inserts a failed image with an open failed_tasks row (source workflow), as a killed job leaves it. */
function insertFailed(t: TestApp, name: string, at: string): string {
  const id = newImageId();
  t.repos.images.insert({
    id,
    original_name: name,
    content_type: 'image/png',
    bytes: 100,
    sha256: createHash('sha256').update(id).digest('hex'),
    source_key: `originals/${id}`,
    priority: 'interactive',
    preset: 'web-v1',
    created_at: at,
    width: 8,
    height: 8,
    format: 'png',
  });
  t.repos.images.markFailed(id, 0, 'JOB_FAILED', null, at);
  t.repos.failedTasks.record({
    imageId: id,
    code: 'JOB_FAILED',
    message: 'killed',
    execution: null,
    source: 'workflow',
    now: at,
  });
  return id;
}

const FAILED = 5_000;

describe('bulk retry of failed tasks', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeApp();
    const at = new Date(t.clock.now).toISOString();
    t.db.transaction(() => {
      for (let i = 0; i < FAILED; i++) insertFailed(t, `${i}.png`, at);
    })();
  });
  afterAll(() => t.cleanup());

  it("lists the newest 500 open rows unless asked for more, up to the bulk retry's 10,000", async () => {
    const listed = async (query: string) =>
      (
        await expectAnswer(
          FailedTasksAnswer,
          await t.app.request(`/api/admin/failed-tasks?unresolved=true${query}`, {
            headers: admin(),
          }),
          200,
        )
      ).failedTasks.length;
    expect(await listed('')).toBe(500);
    expect(await listed(`&limit=${FAILED}`)).toBe(FAILED);
    expect(await listed('&limit=10000')).toBe(FAILED);
    const refused = await t.app.request('/api/admin/failed-tasks?limit=10001', {
      headers: admin(),
    });
    expect(refused.status).toBe(400);
  });

  it(`answers other requests while it retries ${FAILED} failed tasks, then reports every one`, async () => {
    let done = false;
    const bulk = Promise.resolve(
      t.app.request('/api/admin/failed-tasks/retry', { method: 'POST', headers: admin() }),
    ).finally(() => {
      done = true;
    });
    const seen: number[] = [];
    // Bounded: at most 20,000 probes; each lets the event loop turn (setImmediate) first.
    for (let i = 0; i < 20_000 && !done; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      const status = await expectJson<{ counts: { failed: number } }>(
        await t.app.request('/status'),
        200,
      );
      seen.push(status.counts.failed);
    }
    const body = await expectAnswer(BulkRetryAnswer, await bulk, 202);
    expect(body.retried).toHaveLength(FAILED);
    expect(body.skipped).toEqual([]);
    expect(t.repos.images.countsByStatus()).toMatchObject({ failed: 0, queued: FAILED });
    // Some answer came while the retry was part-way through.
    const partWay = seen.filter((n) => n > 0 && n < FAILED);
    expect(partWay.length, `failed counts seen: ${[...new Set(seen)].join(', ')}`).toBeGreaterThan(
      0,
    );
  });
});

describe("a failed regeneration's row", () => {
  let h: RegenHarness | undefined;
  afterEach(() => h?.t.cleanup());

  const list = async () =>
    expectAnswer(
      FailedTasksAnswer,
      await h!.t.app.request('/api/admin/failed-tasks?unresolved=true', { headers: admin() }),
      200,
    );

  it('is listed as not retryable and left out of the bulk count and the bulk retry; its own retry answers 409 CONFLICT naming the regeneration', async () => {
    h = await regenHarness({ ratePerMinute: 600 });
    const [regenerated, other] = (await h.processed(2)) as [string, string];
    await h.start();
    expect((await h.tick()).dispatched).toBe(2);
    const generationOf = (id: string) => h!.items().find((i) => i.image_id === id)!.generation!;
    await h.fail(regenerated, generationOf(regenerated));
    await h.complete(other, generationOf(other));
    const failed = insertFailed(h.t, 'killed.png', new Date(h.t.clock.now).toISOString());

    const before = await list();
    expect(
      before.failedTasks.map((f) => [f.imageId, f.source, f.retryable, f.image?.status]),
    ).toEqual(
      expect.arrayContaining([
        [regenerated, 'regenerate', false, 'processed'],
        [failed, 'workflow', true, 'failed'],
      ]),
    );
    expect(before.failedTasks).toHaveLength(2);
    expect(before.retryableCount).toBe(1);

    const cause = `image ${regenerated} is processed and keeps serving its old variants: its failure is a regeneration's, which a retry cannot redo; start another regeneration run`;
    const refused = await expectJson<{ error: { code: string; message: string } }>(
      await h.t.app.request(`/api/admin/images/${regenerated}/retry`, {
        method: 'POST',
        headers: admin(),
      }),
      409,
    );
    expect(refused.error).toMatchObject({ code: 'CONFLICT', message: cause });

    const bulk = await expectAnswer(
      BulkRetryAnswer,
      await h.t.app.request('/api/admin/failed-tasks/retry', { method: 'POST', headers: admin() }),
      202,
    );
    // Only what the count said: the regeneration's row is not taken, so not "skipped" either.
    expect(bulk).toEqual({ retried: [failed], skipped: [] });
    // The regeneration's row stays open (a later successful regeneration resolves it), and
    // nothing is left for "Retry all failed".
    const after = await list();
    expect(after.failedTasks.map((f) => f.imageId)).toEqual([regenerated]);
    expect(after.retryableCount).toBe(0);
    expect(h.t.repos.images.get(regenerated)?.status).toBe('processed');
  });
});

describe('the retryable flag of the image views', () => {
  let h: RegenHarness | undefined;
  afterEach(() => h?.t.cleanup());

  const request = async <S extends Parameters<typeof expectAnswer>[0]>(
    schema: S,
    path: string,
    init: RequestInit = {},
  ) =>
    expectAnswer(
      schema,
      await h!.t.app.request(path, {
        ...init,
        headers: admin(init.body ? { 'Content-Type': 'application/json' } : {}),
      }),
      200,
    );

  it('says which images a retry takes (failed ones, not one a regeneration holds) in the listing, the lookup and the detail, as the bulk retry then does', async () => {
    h = await regenHarness({ ratePerMinute: 600 });
    const [held] = (await h.processed(1)) as [string];
    await h.start();
    expect((await h.tick()).dispatched).toBe(1);
    const failed = insertFailed(h.t, 'killed.png', new Date(h.t.clock.now).toISOString());
    const flags = (images: { id: string; status: string; retryable: boolean }[]) =>
      Object.fromEntries(images.map((i) => [i.id, [i.status, i.retryable]]));
    const expected = { [held]: ['processed', false], [failed]: ['failed', true] };

    const listing = await request(LibraryPageAnswer, '/api/admin/images');
    expect(flags(listing.images)).toEqual(expected);
    const lookup = await request(LibraryLookupAnswer, '/api/admin/images/lookup', {
      method: 'POST',
      body: JSON.stringify({ ids: [held, failed] }),
    });
    expect(flags(lookup.images)).toEqual(expected);
    const details = [
      await request(ImageDetailAnswer, `/api/images/${held}`),
      await request(ImageDetailAnswer, `/api/images/${failed}`),
    ];
    expect(flags(details)).toEqual(expected);

    // The server stays the guard: the held image sent anyway is refused with its cause.
    const bulk = await request(BulkActionAnswer, '/api/admin/images/bulk', {
      method: 'POST',
      body: JSON.stringify({ action: 'retry', ids: [held, failed] }),
    });
    expect(bulk.results.map((r) => [r.id, r.ok, r.error?.code])).toEqual([
      [held, false, 'CONFLICT'],
      [failed, true, undefined],
    ]);
  });
});
