/**
 * The library listing API through `app.request()` on a real SQLite file and
 * fs store: search, filters, sorts and a cursor that reaches every image; the
 * failure of a failed image; small thumbnails; lookups by id and content hash.
 * Every listing and lookup answer is checked against its contract
 * (@slideshow/contracts `LibraryPageAnswer`, `LibraryLookupAnswer`).
 */
import { createHash } from 'node:crypto';
import { LibraryLookupAnswer } from '@slideshow/contracts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LIBRARY_SORTS } from '../src/db/library-repository.ts';
import { adminPage } from '../src/web/admin-page.ts';
import { admin, expectAnswer, expectJson, makeApp, makePng, type TestApp } from './helpers.ts';
import { libraryClient } from './library-client.ts';

describe('the media library listing', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.cleanup());
  const { upload, json, list, process, fail, everything } = libraryClient(() => t);

  it('reaches every image through nextCursor, for every sort and direction', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 23; i += 1) {
      t.clock.now += 1000;
      ids.push(await upload(`photo-${String(i).padStart(2, '0')}.png`, makePng(8 + i, 8, i)));
    }
    for (const query of [
      '',
      'sort=name',
      'sort=name&order=desc',
      'sort=title',
      'sort=title&order=desc',
      'sort=size',
      'sort=date&order=asc',
    ]) {
      const all = await everything(query, 5);
      expect(all.map((v) => v.id).sort(), query).toEqual([...ids].sort());
    }
    const byName = await everything('sort=name', 7);
    expect(byName.map((v) => v.originalName)).toEqual(
      [...byName.map((v) => v.originalName)].sort(),
    );
    const bySize = await everything('sort=size', 4);
    const sizes = bySize.map((v) => v.bytes);
    expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
    const newest = await everything('', 6);
    expect(newest[0]!.id).toBe(ids.at(-1));
  });

  it('sorts names as people read them: accents and case folded, numbers by value, both ways and across pages', async () => {
    const names = [
      'Zulu.png',
      'w1279.png',
      'apple.png',
      'Été.png',
      'w319.png',
      'ｗ７.png',
      'w0020.png',
    ];
    for (const [i, name] of names.entries()) await upload(name, makePng(8, 8, i + 1));
    const expected = [
      'apple.png',
      'Été.png',
      'ｗ７.png',
      'w0020.png',
      'w319.png',
      'w1279.png',
      'Zulu.png',
    ];
    for (const pageSize of [2, 3, 50]) {
      const asc = await everything('sort=name', pageSize);
      expect(
        asc.map((v) => v.originalName),
        `page size ${pageSize}`,
      ).toEqual(expected);
      const desc = await everything('sort=name&order=desc', pageSize);
      expect(
        desc.map((v) => v.originalName),
        `page size ${pageSize}`,
      ).toEqual([...expected].reverse());
    }
  });

  it('sorts by the name a card shows — the title, else the file name — as names sort, across pages, and again after a retitle', async () => {
    const names = ['a.png', 'b.png', 'c.png', 'd.png', 'e.png', 'zz.png'];
    const ids: Record<string, string> = {};
    for (const [i, name] of names.entries()) ids[name] = await upload(name, makePng(8, 8, i + 1));
    const titles: Record<string, string> = {
      'a.png': 'Zebra crossing',
      'b.png': 'Été à Paris',
      'c.png': 'w1279',
      'e.png': 'w319',
    };
    for (const [name, title] of Object.entries(titles)) {
      await expectJson(await json('PATCH', `/api/admin/images/${ids[name]}`, { title }), 200);
    }
    // What each card shows (admin-dom.js displayName): d.png and zz.png have no title.
    const shown = (v: { title: string; originalName: string }) => v.title || v.originalName;
    const expected = ['d.png', 'Été à Paris', 'w319', 'w1279', 'Zebra crossing', 'zz.png'];
    for (const pageSize of [1, 4, 50]) {
      const asc = await everything('sort=title', pageSize);
      expect(asc.map(shown), `page size ${pageSize}`).toEqual(expected);
      const desc = await everything('sort=title&order=desc', pageSize);
      expect(desc.map(shown), `page size ${pageSize}`).toEqual([...expected].reverse());
    }
    // A retitle moves the card; a title cleared falls back to the file name.
    await expectJson(
      await json('PATCH', `/api/admin/images/${ids['zz.png']}`, { title: 'Apple' }),
      200,
    );
    await expectJson(await json('PATCH', `/api/admin/images/${ids['a.png']}`, { title: '' }), 200);
    expect((await everything('sort=title', 2)).map(shown)).toEqual([
      'a.png',
      'Apple',
      'd.png',
      'Été à Paris',
      'w319',
      'w1279',
    ]);
  });

  it('offers every sort the API knows in the console, both ways, each with its own label', () => {
    const select = /<select id="sort">([\s\S]*?)<\/select>/.exec(adminPage)?.[1] ?? '';
    const options = [...select.matchAll(/<option value="([^"]*)">([^<]*)<\/option>/g)];
    expect(options.map((o) => o[1]).sort()).toEqual(
      LIBRARY_SORTS.flatMap((sort) => [`${sort}:asc`, `${sort}:desc`]).sort(),
    );
    expect(new Set(options.map((o) => o[2])).size).toBe(options.length);
    expect(Object.fromEntries(options.map((o) => [o[1], o[2]]))).toMatchObject({
      'title:asc': 'Name A–Z',
      'name:asc': 'File name A–Z',
    });
  });

  it('pages by name past names whose sort key is far longer than the name (Hangul, many numbers, 200 characters)', async () => {
    const numbers = Array.from({ length: 20 }, (_, i) => `p${i}`).join('_');
    const names = [
      `${'한국어'.repeat(20)}.png`,
      `${'한국어'.repeat(20)}b.png`,
      `${numbers}.png`,
      `${numbers}b.png`,
      `${'1가'.repeat(97)}.png`,
      `${'1가'.repeat(97)}b.png`,
    ];
    for (const [i, name] of names.entries()) await upload(name, makePng(8, 8, i + 1));
    const all = await everything('sort=name', 1);
    expect(all.map((v) => v.originalName).sort()).toEqual([...names].sort());
  });

  it('refuses a cursor from another sort order instead of skipping images', async () => {
    await upload('a.png', makePng(8, 8, 1));
    await upload('b.png', makePng(8, 8, 2));
    const first = await list('sort=name&limit=1');
    expect(first.nextCursor).not.toBeNull();
    const response = await t.app.request(
      `/api/admin/images?sort=size&limit=1&cursor=${first.nextCursor}`,
      { headers: admin() },
    );
    expect(response.status).toBe(400);
  });

  it('searches file names and titles case-insensitively, with % and _ taken literally', async () => {
    const beach = await upload('Beach_2024.png', makePng(8, 8, 1));
    await upload('mountain.png', makePng(8, 8, 2));
    const other = await upload('100%.png', makePng(8, 8, 3));
    await expectJson(
      await json('PATCH', `/api/admin/images/${other}`, { title: 'Sunset beach' }),
      200,
    );
    const hits = await list('q=BEACH');
    expect(hits.images.map((i) => i.id).sort()).toEqual([beach, other].sort());
    expect((await list('q=_')).images.map((i) => i.id)).toEqual([beach]);
    expect((await list('q=%25')).images.map((i) => i.id)).toEqual([other]);
    expect((await list('q=nothing-like-this')).images).toEqual([]);
  });

  it('searches names and titles ignoring case, accents and normalisation in any script', async () => {
    // Each name, with the searches that must find it and nothing else.
    const searches: Record<string, string[]> = {
      'café.jpg': ['CAFÉ', 'cafe', 'cafe\u0301'],
      'Été à Paris.jpg': ['été', 'ETE A PARIS'],
      'İstanbul.jpg': ['istanbul', 'İSTANBUL'],
      'Straße.jpg': ['STRASSE', 'straße'],
      'ΣΟΦΊΑ.png': ['σοφια'],
      // A Σ before the extension: lower-cased as σ in the name, as ς at the end of a search.
      'Αθηνάς.png': ['αθηνάς', 'ΑΘΗΝΆΣ', 'αθηνασ'],
      'ﬁeld.png': ['FIELD'],
      'plain.png': ['creme BRULEE'],
    };
    const ids: Record<string, string> = {};
    for (const [i, name] of Object.keys(searches).entries()) {
      ids[name] = await upload(name, makePng(8, 8, i + 1));
    }
    await expectJson(
      await json('PATCH', `/api/admin/images/${ids['plain.png']}`, { title: 'Crème brûlée' }),
      200,
    );
    const found = async (q: string) =>
      (await list(`q=${encodeURIComponent(q)}`)).images.map((i) => i.originalName).sort();
    for (const [name, queries] of Object.entries(searches)) {
      for (const q of queries) expect(await found(q), q).toEqual([name]);
    }
    expect(await found('.JPG')).toEqual(
      Object.keys(searches)
        .filter((n) => n.endsWith('.jpg'))
        .sort(),
    );
    // Name and title are searched apart: nothing matches across them.
    expect(await found('plain.png creme')).toEqual([]);
  });

  it('stores a name, title, caption and alt text typed decomposed (NFD, as macOS sends them) as NFC, found by a search in either form', async () => {
    // 각 as three conjoining jamo, が as か + U+3099 COMBINING KATAKANA-HIRAGANA VOICED SOUND MARK.
    const [korean, kana] = ['\u1100\u1161\u11a8', '\u304b\u3099'];
    const id = await upload(`${korean}.png`, makePng(8, 8, 1));
    const edited = await expectJson<{ image: { title: string; caption: string; altText: string } }>(
      await json('PATCH', `/api/admin/images/${id}`, {
        title: `${kana}らす`,
        caption: `${korean} ${kana}`,
        altText: `${kana}`,
      }),
      200,
    );
    expect(edited.image).toMatchObject({ title: 'がらす', caption: '각 が', altText: 'が' });
    const row = t.db
      .prepare<[string], Record<string, string>>(
        'SELECT original_name, title, caption, alt_text FROM images WHERE id = ?',
      )
      .get(id);
    expect(row).toEqual({
      original_name: '각.png',
      title: 'がらす',
      caption: '각 が',
      alt_text: 'が',
    });
    // A row another writer stored decomposed (sqlite3, a script) is found all the same.
    const other = await upload('other.png', makePng(8, 8, 2));
    t.db.prepare('UPDATE images SET title = ? WHERE id = ?').run(`${korean}${kana}`, other);
    const found = async (q: string) =>
      (await list(`q=${encodeURIComponent(q)}`)).images.map((i) => i.id).sort();
    for (const q of [korean, '각']) expect(await found(q), q).toEqual([id, other].sort());
    for (const q of [kana, 'が']) expect(await found(q), q).toEqual([id, other].sort());
  });

  it('tells apart names that differ by a kana voicing mark or an Indic vowel sign, and finds stroked letters, apostrophes and digits of any script', async () => {
    // Each name, with the searches that must find it and nothing else.
    const searches: Record<string, string[]> = {
      'パパ.jpg': ['パパ'],
      'ハハ.jpg': ['ハハ'],
      'ガラス.jpg': ['ガラス', 'ｶﾞﾗｽ'],
      'カラス.jpg': ['カラス'],
      'दल.jpg': ['दल'],
      'दिल.jpg': ['दिल'],
      'Łódź.jpg': ['lodz', 'ŁÓDŹ'],
      'Mum’s.jpg': ["mum's", 'MUM’S'],
      'photo ١٠.jpg': ['10', 'photo ١٠', 'photo 10'],
      'photo ٩.jpg': ['photo 9'],
    };
    for (const [i, name] of Object.keys(searches).entries())
      await upload(name, makePng(8, 8, i + 1));
    const found = async (q: string) =>
      (await list(`q=${encodeURIComponent(q)}`)).images.map((i) => i.originalName);
    for (const [name, queries] of Object.entries(searches)) {
      for (const q of queries) expect(await found(q), q).toEqual([name]);
    }
    const byName = (await everything('sort=name', 3)).map((v) => v.originalName);
    expect(byName.indexOf('photo ٩.jpg')).toBe(byName.indexOf('photo ١٠.jpg') - 1);
  });

  it('refuses a search with a control character instead of listing every image', async () => {
    await upload('a.png', makePng(8, 8, 1));
    for (const q of ['%00', 'a%00', '%0A', '%7F']) {
      const response = await t.app.request(`/api/admin/images?q=${q}`, { headers: admin() });
      const body = await expectJson<{ error: { code: string; message: string } }>(response, 400);
      expect(body.error).toMatchObject({
        code: 'VALIDATION_FAILED',
        message: expect.stringContaining('q: must not contain control characters'),
      });
    }
  });

  it('filters by status and by visibility, and names the failure of a failed image', async () => {
    const good = await upload('good.png', makePng(8, 8, 1));
    const bad = await upload('bad.png', makePng(8, 8, 2));
    await upload('waiting.png', makePng(8, 8, 3));
    await process(good);
    await fail(bad);
    const failed = await list('status=failed');
    expect(failed.images.map((i) => i.id)).toEqual([bad]);
    expect(failed.images[0]!.failure).toEqual({
      code: 'CORRUPT_IMAGE',
      message: 'premature end of JPEG data',
    });
    expect((await list('status=processed')).images[0]!.failure).toBeNull();
    await expectJson(await json('PATCH', `/api/admin/images/${good}`, { published: false }), 200);
    expect((await list('visibility=hidden')).images.map((i) => i.id)).toEqual([good]);
    expect((await list('visibility=published')).images).toHaveLength(2);
  });

  it('offers the smallest variants, at most 640 px wide, as the thumbnail', async () => {
    const id = await upload('a.png', makePng(8, 8, 1));
    await process(id);
    const [image] = (await list()).images;
    expect(image!.thumb?.width).toBe(320);
    expect(image!.thumb?.src).toMatch(/w320\.jpg$/);
    expect(image!.thumb?.sources.map((s) => s.type)).toEqual([
      'image/avif',
      'image/webp',
      'image/jpeg',
    ]);
    for (const source of image!.thumb!.sources) expect(source.srcset).not.toMatch(/w1280|w1920/);
  });

  it('finds images by id and by content hash, so the upload page skips files already sent', async () => {
    const png = makePng(8, 8, 1);
    const id = await upload('a.png', png);
    const sha256 = createHash('sha256').update(png).digest('hex');
    const body = await expectAnswer(
      LibraryLookupAnswer,
      await json('POST', '/api/admin/images/lookup', {
        sha256: [sha256, 'f'.repeat(64)],
        ids: [id],
      }),
      200,
    );
    expect(body.images.map((i) => i.id)).toEqual([id]);
    const bad = await json('POST', '/api/admin/images/lookup', { sha256: ['ABC'] });
    expect(bad.status).toBe(400);
  });
});
