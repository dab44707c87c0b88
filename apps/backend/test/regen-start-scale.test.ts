/**
 * Starting a regeneration over a large library (docs/operations.md, "Presets
 * and regeneration"): a run's items are added by one `INSERT … SELECT` over
 * the dry run's selection (src/regen/selection.ts), not one insert per image
 * run from JavaScript. With 95,000 images the per-image loop held the event
 * loop — every request and processing callback — for about three seconds.
 *
 * The test does not time anything (the house rule: no timing assertions).
 * It counts the mutating statements the start executes through the
 * backend's own write fence (src/db/write-fence.ts: `assertWritable` is
 * called before every mutating statement on the connection, which is how
 * the single-writer lease refuses writes), on a real SQLite file seeded with
 * 50,000 processed images by SQL. The old code ran one upsert per image
 * (50,000 writes); the new one runs a handful whatever the library's size.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegenDryRunAnswer, RegenRunAnswer } from '@slideshow/contracts';
import { describe, expect, it, onTestFinished } from 'vitest';
import { type Db, openDatabase } from '../src/db/open-database.ts';
import { admin, expectAnswer, makeApp, type TestApp } from './helpers.ts';

const IMAGES = 50_000;

/** `n` processed 4000×3000 images with no preset version, newest first by id, in one statement. */
function seedProcessed(db: Db, n: number): void {
  db.prepare<[number]>(
    `WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < ?)
     INSERT INTO images (id, original_name, content_type, bytes, sha256, source_key, status,
       generation, priority, preset, width, height, created_at, updated_at)
     SELECT printf('img_%06d', n), printf('%d.jpg', n), 'image/jpeg', 1, printf('%064d', n),
       printf('originals/img_%06d', n), 'processed', 0, 'batch', 'web-v1', 4000, 3000,
       strftime('%Y-%m-%dT%H:%M:%fZ', '2025-01-01', printf('-%d seconds', n)),
       '2025-01-01T00:00:00.000Z'
     FROM k`,
  ).run(n);
}

/** `POST /api/admin/regenerate` with `body`. */
const regenerate = (t: TestApp, body: Record<string, unknown>) =>
  t.app.request('/api/admin/regenerate', {
    method: 'POST',
    headers: admin({ 'Content-Type': 'application/json' }),
    body: JSON.stringify(body),
  });

describe('starting a regeneration over a large library', () => {
  it('adds 50,000 items with a handful of writes, not one insert per image', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'regen-start-'));
    let writes = 0;
    const db = openDatabase(join(dir, 'slideshow.db'), {
      assertWritable: () => {
        writes++;
      },
    });
    seedProcessed(db, IMAGES);
    const t = await makeApp({ db });
    onTestFinished(() => {
      t.cleanup();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const dry = await expectAnswer(RegenDryRunAnswer, await regenerate(t, { dryRun: true }), 200);
    expect(dry.images).toBe(IMAGES);
    expect(dry.megapixels).toBe(IMAGES * 12);

    writes = 0;
    const { run } = await expectAnswer(RegenRunAnswer, await regenerate(t, {}), 202);
    // The run row, its items, and a few bookkeeping writes: far from one per image.
    expect(writes).toBeLessThan(20);
    expect(run).toMatchObject({ status: 'running', total: IMAGES, remaining: IMAGES });

    const items = db
      .prepare<{ run: number }, { n: number; first: string; last: string; mp: number }>(
        `SELECT count(*) AS n, sum(megapixels) AS mp,
           (SELECT image_id FROM regen_items WHERE run_id = @run ORDER BY id LIMIT 1) AS first,
           (SELECT image_id FROM regen_items WHERE run_id = @run ORDER BY id DESC LIMIT 1) AS last
         FROM regen_items WHERE run_id = @run AND state = 'pending'`,
      )
      .get({ run: run.id });
    // One pending item per image, oldest first (the dispatch worker sends them by item id).
    expect(items).toEqual({ n: IMAGES, mp: IMAGES * 12, first: 'img_050000', last: 'img_000001' });
  });
});
