/**
 * Migration 021: an image whose served variants include the upload's own
 * bytes (a manifest entry `reuse: "original"`, made by versions before the
 * original stopped being stored as a variant) is selected by the next
 * regeneration even though its preset version is the current one
 * (docs/operations.md, "Presets and regeneration").
 */
import { afterEach, describe, expect, it } from 'vitest';
import { migrate } from '../src/db/open-database.ts';
import { type RegenHarness, regenHarness } from './regen-harness.ts';

const MIGRATION = '021_reused_originals_stale.sql';

describe('migration 021 (reused originals are made again)', () => {
  let h: RegenHarness | undefined;
  afterEach(() => h?.t.cleanup());

  it('makes a regeneration select an image at the current version whose manifest reuses the original, and only it', async () => {
    h = await regenHarness({ ratePerMinute: 600 });
    const [reused, wider, plain] = await h.processed(3);
    // Every image is made at the current version first, as an older backend's run would have.
    const first = await h.start();
    await h.tick();
    for (const item of h.items('dispatched')) await h.complete(item.image_id, item.generation!);
    await h.tick();
    expect(await h.run(first.id)).toMatchObject({ status: 'done', done: 3 });
    expect(await h.post({ dryRun: true }, 200)).toMatchObject({ images: 0 });

    // The database as a version before 021 left it: one manifest with the original's own bytes.
    const db = h.t.db;
    const setReuse = db.prepare(
      `UPDATE images SET variants = json_set(variants, '$[0].reuse', ?) WHERE id = ?`,
    );
    setReuse.run('original', reused);
    setReuse.run('wider', wider);
    db.prepare('DELETE FROM schema_migrations WHERE name = ?').run(MIGRATION);

    expect(migrate(db)).toEqual([MIGRATION]);

    expect(await h.post({ dryRun: true }, 200)).toMatchObject({ images: 1 });
    expect(await h.post({ dryRun: true, filter: { ids: [reused] } }, 200)).toMatchObject({
      images: 1,
    });
    expect(await h.post({ dryRun: true, filter: { ids: [wider, plain] } }, 200)).toMatchObject({
      images: 0,
    });
    // The run takes it over and makes it again (its earlier item no longer blocks it).
    const second = await h.start();
    expect(second).toMatchObject({ total: 1 });
    await h.tick();
    const dispatched = h.items('dispatched');
    expect(dispatched.map((i) => i.image_id)).toEqual([reused]);
    await h.complete(reused!, dispatched[0]!.generation!);
    await h.tick();
    expect(await h.run(second.id)).toMatchObject({ status: 'done', done: 1 });
    const manifest = db
      .prepare<[string], { variants: string }>('SELECT variants FROM images WHERE id = ?')
      .get(reused!)!;
    expect(manifest.variants).not.toContain('"original"');
    expect(await h.post({ dryRun: true }, 200)).toMatchObject({ images: 0 });
  });
});
