/**
 * Two admins, one image: `PATCH /api/admin/images/:id` with `If-Match`
 * (RFC 9110 §13.1.1) writes only over the description revision it names, and
 * answers a stale one 412 PRECONDITION_FAILED with the image as it is now,
 * writing nothing; `*` and no `If-Match` at all write as before. The revision
 * is the detail's and the PATCH answer's strong `ETag`, and changes with every
 * writer of the description: the PATCH, the bulk Hide/Show, `sqlite3`.
 * Through `app.request()` on a real SQLite file and fs store.
 */
import {
  BulkActionAnswer,
  DescriptionConflictAnswer,
  ImageDetailAnswer,
  LibraryImageAnswer,
} from '@slideshow/contracts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ifMatchAllows, parseIfMatch } from '../src/entity-tag.ts';
import { admin, expectAnswer, expectJson, makeApp, makePng, type TestApp } from './helpers.ts';
import { libraryClient } from './library-client.ts';

describe('conditional description writes', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.cleanup());
  const { upload, process, list } = libraryClient(() => t);

  /**
   * `PATCH` of `body` with `If-Match: ifMatch` (none when undefined); `compressed` accepts a
   * compressed answer, as browsers and `curl --compressed` do.
   */
  const patch = (id: string, body: unknown, ifMatch?: string, compressed = false) =>
    t.app.request(`/api/admin/images/${id}`, {
      method: 'PATCH',
      headers: admin({
        'Content-Type': 'application/json',
        ...(compressed ? { 'Accept-Encoding': 'br, gzip' } : {}),
        ...(ifMatch === undefined ? {} : { 'If-Match': ifMatch }),
      }),
      body: JSON.stringify(body),
    });
  /** The detail as the console loads it, its ETag and the row's stored title. */
  const detail = async (id: string) => {
    const response = await t.app.request(`/api/images/${id}`, {
      headers: admin({ 'Accept-Encoding': 'br, gzip' }),
    });
    const etag = response.headers.get('ETag');
    const encoding = response.headers.get('Content-Encoding');
    const image = await expectAnswer(ImageDetailAnswer, response, 200);
    return { image, etag, encoding };
  };
  const storedTitle = (id: string) =>
    t.db.prepare<[string], { title: string }>('SELECT title FROM images WHERE id = ?').get(id)
      ?.title;

  it('refuses a write over a stale revision with 412 and the image as it is now, and writes nothing', async () => {
    const id = await upload('a.png', makePng(8, 8, 1));
    await process(id);
    const loaded = await detail(id);
    // Strong, and so uncompressed: a compressed copy's tag would be weak (W/), which If-Match
    // never matches. The detail of a processed image is well over the compression threshold.
    expect(loaded.etag).toBe(`"${loaded.image.revision}"`);
    expect(loaded.encoding).toBeNull();

    const first = await patch(id, { title: 'First admin' }, loaded.etag!, true);
    expect(first.headers.get('Content-Encoding')).toBeNull();
    const firstEtag = first.headers.get('ETag');
    const saved = await expectAnswer(LibraryImageAnswer, first, 200);
    expect(saved.image.title).toBe('First admin');
    expect(firstEtag).toBe(`"${saved.image.revision}"`);
    expect(firstEtag).not.toBe(loaded.etag);
    expect(first.headers.get('Cache-Control')).toBe('no-store, no-transform');

    // The second admin loaded the same detail before the first one saved.
    const stale = await patch(id, { title: 'Second admin', caption: 'Mine' }, loaded.etag!);
    const refused = await expectAnswer(DescriptionConflictAnswer, stale, 412);
    expect(refused.error.code).toBe('PRECONDITION_FAILED');
    expect(refused.image).toMatchObject({
      id,
      title: 'First admin',
      caption: '',
      revision: saved.image.revision,
    });
    expect(storedTitle(id)).toBe('First admin');
    expect((await detail(id)).etag).toBe(firstEtag);
  });

  it('writes over the current revision, over any with *, and without If-Match as before', async () => {
    const id = await upload('a.png', makePng(8, 8, 1));
    const { etag } = await detail(id);

    const current = await patch(id, { title: 'One' }, etag!);
    const one = await expectAnswer(LibraryImageAnswer, current, 200);
    // A list naming the current tag among others matches; a weak copy of it never does.
    const listed = await patch(id, { title: 'Two' }, `"stale", "${one.image.revision}"`);
    const two = await expectAnswer(LibraryImageAnswer, listed, 200);
    const weak = await patch(id, { title: 'Three' }, `W/"${two.image.revision}"`);
    expect((await expectAnswer(DescriptionConflictAnswer, weak, 412)).image.title).toBe('Two');

    const star = await patch(id, { title: 'Star' }, '*');
    expect((await expectAnswer(LibraryImageAnswer, star, 200)).image.title).toBe('Star');
    const unconditional = await patch(id, { title: 'Script' });
    const scripted = await expectAnswer(LibraryImageAnswer, unconditional, 200);
    expect(scripted.image.title).toBe('Script');
    expect(unconditional.headers.get('ETag')).toBe(`"${scripted.image.revision}"`);
    expect(storedTitle(id)).toBe('Script');

    // '*' names any current image: none here, so it is the 404 the write would be anyway.
    await expectJson(await patch('img_aaaaaaaaaaaaaaaaaaaaaaaaaa', { title: 'x' }, '*'), 404);
    // An If-Match that is neither '*' nor quoted tags is refused, not taken as no condition.
    const bare = await expectJson<{ error: { code: string; message: string } }>(
      await patch(id, { title: 'Bare' }, scripted.image.revision),
      400,
    );
    expect(bare.error.message).toMatch(/If-Match must be \* or quoted entity tags/);
    expect(storedTitle(id)).toBe('Script');
  });

  it('answers a stale If-Match 200 when the write changes nothing of the current description', async () => {
    const id = await upload('a.png', makePng(8, 8, 1));
    const { etag } = await detail(id);
    await expectJson(await patch(id, { title: 'Fixed typo', published: true }), 200);
    // Already applied (its answer lost, or both admins typed the same fix): RFC 9110 §13.1.1.
    const same = await patch(id, { title: 'Fixed typo', published: true }, etag!);
    expect((await expectAnswer(LibraryImageAnswer, same, 200)).image.title).toBe('Fixed typo');
    const other = await patch(id, { title: 'Fixed typo', published: false }, etag!);
    await expectAnswer(DescriptionConflictAnswer, other, 412);
  });

  it('changes the revision when the bulk action hides or shows the image, or sqlite3 edits it', async () => {
    const [a, b] = [
      await upload('a.png', makePng(8, 8, 1)),
      await upload('b.png', makePng(8, 8, 2)),
    ];
    const before = await detail(a);
    const bulk = (action: 'hide' | 'publish') =>
      t.app.request('/api/admin/images/bulk', {
        method: 'POST',
        headers: admin({ 'Content-Type': 'application/json' }),
        body: JSON.stringify({ action, ids: [a, b] }),
      });
    await expectAnswer(BulkActionAnswer, await bulk('hide'), 200);
    const hidden = await detail(a);
    expect(hidden.image.published).toBe(false);
    expect(hidden.etag).not.toBe(before.etag);
    // The listing shows the same revision as the detail.
    const listed = (await list()).images.find((i) => i.id === a);
    expect(listed?.revision).toBe(hidden.image.revision);
    // A save based on the detail loaded before the hide does not show the image again unseen.
    const stale = await patch(a, { title: 'Mine', published: true }, before.etag!);
    expect((await expectAnswer(DescriptionConflictAnswer, stale, 412)).image.published).toBe(false);

    await expectAnswer(BulkActionAnswer, await bulk('publish'), 200);
    const shown = await detail(a);
    expect(shown.etag).not.toBe(hidden.etag);

    // A writer around the API (an operator's sqlite3) changes it too.
    t.db.prepare('UPDATE images SET alt_text = ? WHERE id = ?').run('Written by sqlite3', a);
    const edited = await detail(a);
    expect(edited.etag).not.toBe(shown.etag);
    const overSqlite = await patch(a, { altText: 'Mine' }, shown.etag!);
    const conflict = await expectAnswer(DescriptionConflictAnswer, overSqlite, 412);
    expect(conflict.image.altText).toBe('Written by sqlite3');
  });
});

describe('If-Match values (RFC 9110 §13.1.1)', () => {
  it('reads *, lists of strong and weak tags (commas inside quotes included), and skips empty elements', () => {
    expect(parseIfMatch(' * ')).toBe('*');
    expect(parseIfMatch('"a", W/"b" ,, "c,d"')).toEqual([
      { tag: '"a"', weak: false },
      { tag: '"b"', weak: true },
      { tag: '"c,d"', weak: false },
    ]);
    expect(ifMatchAllows([{ tag: '"b"', weak: true }], '"b"')).toBe(false);
    expect(ifMatchAllows('*', '"b"')).toBe(true);
  });

  it('refuses what is neither: bare tokens, a tag without a comma after it, * in a list, nothing', () => {
    for (const value of ['abc', '"a" "b"', '"a", *', 'w/"a"', '"a', '', ' , ']) {
      expect(parseIfMatch(value), value).toBeNull();
    }
  });
});
