/**
 * The library's "Missing alt text" filter (`GET /api/admin/images?alt=missing`)
 * through `app.request()` on a real SQLite file: it lists exactly the images
 * with no alt text (a blank one is stored as none), in every sort, across
 * pages and with the other filters; a value other than `missing` is refused,
 * not ignored. At 100,000 images, 10 of them without alt text, each page is
 * read in order from one of migration 025's partial indexes — SQLite's own
 * plan (EXPLAIN QUERY PLAN) of the statement the listing runs — instead of a
 * scan past every described image (30–40 ms of the event loop per page).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LibraryPageAnswer } from '@slideshow/contracts';
import { describe, expect, it, onTestFinished } from 'vitest';
import { LIBRARY_SORTS, type LibraryQuery, listStatement } from '../src/db/library-repository.ts';
import { type Db, openDatabase } from '../src/db/open-database.ts';
import { admin, expectAnswer, expectJson, makeApp, makePng, type TestApp } from './helpers.ts';
import { libraryClient } from './library-client.ts';

/** A fresh app for one test, removed when it finishes. */
async function freshApp(overrides: Parameters<typeof makeApp>[0] = {}): Promise<TestApp> {
  const t = await makeApp(overrides);
  onTestFinished(() => t.cleanup());
  return t;
}

describe('the library filter "Missing alt text"', () => {
  let t: TestApp;
  const { upload, json, list, process, everything } = libraryClient(() => t);
  const ids = (images: { id: string }[]) => images.map((i) => i.id).sort();

  it('lists only the images with no alt text, in every sort, across pages and with the other filters', async () => {
    t = await freshApp();
    const described: string[] = [];
    const undescribed: string[] = [];
    for (let i = 0; i < 7; i += 1) {
      t.clock.now += 1000;
      const id = await upload(`IMG_${1230 + i}.png`, makePng(8 + i, 8, i + 1));
      (i % 3 === 0 ? described : undescribed).push(id);
    }
    for (const id of described) {
      await expectJson(
        await json('PATCH', `/api/admin/images/${id}`, { altText: 'A red kite' }),
        200,
      );
    }
    // Written blank (spaces, a zero-width space): stored as none, so still missing.
    const blank = undescribed[0]!;
    await expectJson(
      await json('PATCH', `/api/admin/images/${blank}`, { altText: ' \u200b ' }),
      200,
    );

    for (const sort of LIBRARY_SORTS) {
      for (const order of ['asc', 'desc']) {
        const query = `alt=missing&sort=${sort}&order=${order}`;
        expect(ids(await everything(query, 2)), query).toEqual([...undescribed].sort());
      }
    }
    const page = await list('alt=missing');
    expect(page.images.every((i) => i.altText === '')).toBe(true);

    // With the status and visibility filters: the images that are both.
    await process(undescribed[1]!);
    await process(described[0]!);
    expect(ids((await list('alt=missing&status=processed')).images)).toEqual([undescribed[1]]);
    await expectJson(
      await json('PATCH', `/api/admin/images/${undescribed[2]}`, { published: false }),
      200,
    );
    expect(ids((await list('alt=missing&visibility=hidden')).images)).toEqual([undescribed[2]]);

    // Written now: it leaves the filter.
    await expectJson(await json('PATCH', `/api/admin/images/${blank}`, { altText: 'A kite' }), 200);
    expect(ids((await list('alt=missing')).images)).not.toContain(blank);
    expect(ids((await list('')).images)).toHaveLength(7);
  });

  it('refuses an alt value other than "missing", naming the parameter, instead of listing every image', async () => {
    t = await freshApp();
    await upload('a.png', makePng(8, 8, 1));
    for (const value of ['present', 'MISSING', '', 'missing,present']) {
      const response = await t.app.request(`/api/admin/images?alt=${encodeURIComponent(value)}`, {
        headers: admin(),
      });
      const body = await expectJson<{ error: { code: string; message: string } }>(response, 400);
      expect(body.error, value).toMatchObject({
        code: 'VALIDATION_FAILED',
        message: expect.stringMatching(/\balt\b/),
      });
    }
  });
});

/** Images in the scale test, and how many of them have no alt text. */
const IMAGES = 100_000;
const UNDESCRIBED = 10;

/**
 * `n` images by SQL, every one with alt text but each `n / undescribed`-th; processed, named
 * `IMG_<n>.jpg`, sizes and dates in other orders than ids.
 */
function seed(db: Db, n: number, undescribed: number): void {
  db.prepare<{ n: number; every: number }>(
    `WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < @n)
     INSERT INTO images (id, original_name, content_type, bytes, sha256, source_key, status,
       generation, priority, preset, created_at, updated_at, alt_text)
     SELECT printf('img_%06d', n), printf('IMG_%d.jpg', n), 'image/jpeg', n * 7919 % 100003,
       printf('%064d', n), printf('originals/img_%06d', n), 'processed', 0, 'batch', 'web-v1',
       strftime('%Y-%m-%dT%H:%M:%fZ', '2025-01-01', printf('+%d seconds', n * 37 % @n)),
       '2025-01-01T00:00:00.000Z',
       CASE WHEN n % @every = 0 THEN '' ELSE 'A photo' END
     FROM k`,
  ).run({ n, every: n / undescribed });
}

/** SQLite's plan of the statement the listing runs for `q`, one step a line. */
function planOf(db: Db, q: LibraryQuery): string {
  const { sql, params } = listStatement(q);
  return db
    .prepare<(string | number)[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
    .all(...params)
    .map((step) => step.detail)
    .join('\n');
}

describe('the filter at 100,000 images', () => {
  it('reads each page of images without alt text in order from a partial index, with no sort', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'library-alt-'));
    const db = openDatabase(join(dir, 'slideshow.db'));
    seed(db, IMAGES, UNDESCRIBED);
    const t = await makeApp({ db });
    onTestFinished(() => {
      t.cleanup();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const expected: Record<string, RegExp> = {
      date: /USING INDEX images_alt_missing_created\b/,
      name: /USING INDEX images_alt_missing_name_key\b/,
      title: /USING INDEX images_alt_missing_title_key\b/,
      size: /USING INDEX images_alt_missing_bytes\b/,
    };
    for (const sort of LIBRARY_SORTS) {
      for (const order of ['asc', 'desc'] as const) {
        const q: LibraryQuery = { sort, order, limit: 51, altMissing: true };
        const after = { value: sort === 'size' ? 50_000 : 'm', id: 'img_050000' };
        for (const query of [q, { ...q, after }, { ...q, published: true }]) {
          const plan = planOf(db, query);
          expect(plan, JSON.stringify(query)).toMatch(expected[sort]!);
          expect(plan, JSON.stringify(query)).not.toMatch(/TEMP B-TREE/);
        }
      }
    }
    // With the status filter (date sort, the console's default): not the status index's
    // scan past every processed image with alt text.
    const withStatus = planOf(db, {
      sort: 'date',
      order: 'desc',
      limit: 51,
      altMissing: true,
      status: 'processed',
    });
    expect(withStatus).toMatch(/USING INDEX images_alt_missing_status_created\b/);
    expect(withStatus).not.toMatch(/TEMP B-TREE/);

    // Without the filter, each sort reads its own index in order (migrations 001, 017, 030).
    const unfiltered: Record<string, RegExp> = {
      date: /USING INDEX images_created\b/,
      name: /USING INDEX images_name_key\b/,
      title: /USING INDEX images_title_key\b/,
      size: /USING INDEX images_bytes\b/,
    };
    for (const sort of LIBRARY_SORTS) {
      for (const order of ['asc', 'desc'] as const) {
        const q: LibraryQuery = { sort, order, limit: 51 };
        const after = { value: sort === 'size' ? 50_000 : 'm', id: 'img_050000' };
        for (const query of [q, { ...q, after }]) {
          const plan = planOf(db, query);
          expect(plan, JSON.stringify(query)).toMatch(unfiltered[sort]!);
          expect(plan, JSON.stringify(query)).not.toMatch(/TEMP B-TREE/);
        }
      }
    }

    const page = await expectAnswer(
      LibraryPageAnswer,
      await t.app.request('/api/admin/images?alt=missing&limit=50', { headers: admin() }),
      200,
    );
    expect(page.images).toHaveLength(UNDESCRIBED);
    expect(page.nextCursor).toBeNull();
    expect(new Set(page.images.map((i) => i.altText))).toEqual(new Set(['']));
  });
});
