/**
 * A regeneration's counts add up when images it covers are deleted
 * (docs/operations.md, "Presets and regeneration"): a deleted image leaves
 * the run (its item goes with the image, and the run's total with it), so
 * total = done + failed + cancelled + remaining at every step, whether the
 * image was waiting, in flight or already re-made. Through `app.request()` on
 * the real builder, a real SQLite file and folder store.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { admin, expectJson } from './helpers.ts';
import { type RegenHarness, type RunJson, regenHarness } from './regen-harness.ts';

/** The run's counts, and whether they add up to its total. */
const tally = (run: RunJson) => ({
  total: run.total,
  done: run.done,
  failed: run.failed,
  cancelled: run.cancelled,
  remaining: run.remaining,
  addsUp: run.done + run.failed + run.cancelled + run.remaining === run.total,
});

describe('a regeneration whose images are deleted', () => {
  let h: RegenHarness | undefined;
  afterEach(() => h?.t.cleanup());

  const remove = async (id: string) =>
    expectJson(
      await h!.t.app.request(`/api/admin/images/${id}`, { method: 'DELETE', headers: admin() }),
      200,
    );

  it('takes a deleted image out of the run, waiting, in flight or re-made, so its counts add up', async () => {
    h = await regenHarness({ ratePerMinute: 3 });
    await h.processed(6);
    const run = await h.start();
    expect(tally(run)).toMatchObject({ total: 6, remaining: 6, addsUp: true });

    expect((await h.tick()).dispatched).toBe(3);
    const [inFlight, ...sent] = h.items('dispatched');
    const [waiting] = h.items('pending');
    await remove(inFlight!.image_id);
    await remove(waiting!.image_id);
    expect(tally(await h.run(run.id))).toEqual({
      total: 4,
      done: 0,
      failed: 0,
      cancelled: 0,
      remaining: 4,
      addsUp: true,
    });

    for (const item of sent) await h.complete(item.image_id, item.generation!);
    await h.tick();
    for (const item of h.items('dispatched')) await h.complete(item.image_id, item.generation!);
    await h.tick();
    const finished = await h.run(run.id);
    expect(finished.status).toBe('done');
    expect(tally(finished)).toEqual({
      total: 4,
      done: 4,
      failed: 0,
      cancelled: 0,
      remaining: 0,
      addsUp: true,
    });

    // Deleted after it was re-made: it leaves the finished run's done and total alike.
    await remove(sent[0]!.image_id);
    expect(tally(await h.run(run.id))).toMatchObject({ total: 3, done: 3, addsUp: true });
  });
});
