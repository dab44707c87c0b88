/**
 * Describing and curating through `app.request()` on a real SQLite file and
 * fs store: title, caption and alt text (validated, length-limited, stored as
 * text), bulk actions, the slideshow's visibility, order and ETag, and the
 * timeline written by triggers.
 */
import {
  AdminSlideshowAnswer,
  BulkActionAnswer,
  ImageDeleteAnswer,
  ImageTimelineAnswer,
  SlideshowAnswer,
  SlideshowOrderAnswer,
} from '@slideshow/contracts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { admin, expectAnswer, expectJson, makeApp, makePng, type TestApp } from './helpers.ts';
import { libraryClient, type View } from './library-client.ts';

describe('describing and curating images', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.cleanup());
  const { upload, json, get, process, fail } = libraryClient(() => t);

  it('stores title, caption and alt text as text, and the slideshow shows them', async () => {
    const id = await upload('a.png', makePng(8, 8, 1));
    await process(id);
    const hostile = '<img src=x onerror="alert(1)"> & "quotes"';
    const edited = await expectJson<{ image: View }>(
      await json('PATCH', `/api/admin/images/${id}`, {
        title: `  ${hostile}  `,
        caption: 'Line one\r\nLine two',
        altText: 'A red kite over a green hill',
      }),
      200,
    );
    expect(edited.image).toMatchObject({
      title: hostile,
      caption: 'Line one\nLine two',
      altText: 'A red kite over a green hill',
    });
    const slides = await get(SlideshowAnswer, '/api/slideshow');
    expect(slides.images[0]).toMatchObject({
      id,
      alt: 'A red kite over a green hill',
      title: hostile,
      caption: 'Line one\nLine two',
    });
    // JSON carries it as data; the pages put it in textContent/attributes only.
    const raw = await (await t.app.request('/api/slideshow')).text();
    expect(raw).toContain('\\"alert(1)\\"');
  });

  it('stores a title, caption or alt text of invisible characters only (U+200B, U+2060, U+FEFF) as empty', async () => {
    const id = await upload('a.png', makePng(8, 8, 1));
    const edited = await expectJson<{ image: View }>(
      await json('PATCH', `/api/admin/images/${id}`, {
        title: '\u200b',
        caption: ' \u200b\n\u2060\r\n\ufeff\u00a0',
        altText: '\u200b\u200c\u200d',
      }),
      200,
    );
    expect(edited.image).toMatchObject({ title: '', caption: '', altText: '' });
    const kept = await expectJson<{ image: View }>(
      await json('PATCH', `/api/admin/images/${id}`, { title: '\u200bHi', altText: '👩\u200d💻' }),
      200,
    );
    expect(kept.image).toMatchObject({ title: '\u200bHi', altText: '👩\u200d💻' });
    const bidi = await json('PATCH', `/api/admin/images/${id}`, { title: '\u202e' });
    expect(bidi.status, await bidi.text()).toBe(400);
  });

  it('refuses descriptions that are too long, carry control or bidi-override characters, or name nothing', async () => {
    const id = await upload('a.png', makePng(8, 8, 1));
    const refusals: [unknown, RegExp][] = [
      [{ title: 'x'.repeat(201) }, /title: must be at most 200 characters/],
      [{ altText: 'y'.repeat(1001) }, /altText: must be at most 1000 characters/],
      [{ caption: 'z'.repeat(2001) }, /caption: must be at most 2000 characters/],
      [
        { title: 'two\nlines' },
        /title: must not contain control characters, line breaks or bidi-override characters/,
      ],
      [
        { title: 'two\u2028lines' },
        /title: must not contain control characters, line breaks or bidi-override characters/,
      ],
      [{ altText: 'two\u2029paragraphs' }, /altText: must not contain control characters, line/],
      [{ title: 'next\u0085line' }, /title: must not contain control characters, line breaks/],
      [{ altText: 'next\u0085line' }, /altText: must not contain control characters, line/],
      [{ altText: 'evil\u202Etxt.exe' }, /altText: .*bidi-override characters/],
      [{ title: 'evil\u202Etxt.exe' }, /title: .*bidi-override characters/],
      [
        { caption: 'bell\u0007' },
        /caption: must not contain control characters other than line breaks, or bidi-override/,
      ],
      [{ caption: 'right\u202Eto left' }, /caption: .*bidi-override characters/],
      [{}, /give at least one field/],
      [{ title: 'ok', owner: 'me' }, /Unrecognized key/],
      [{ published: 'yes' }, /published/],
    ];
    for (const [body, message] of refusals) {
      const response = await json('PATCH', `/api/admin/images/${id}`, body);
      const text = await response.text();
      expect(response.status, text).toBe(400);
      expect(JSON.parse(text).error.message).toMatch(message);
    }
    // A caption's NEXT LINE, line and paragraph separators are line breaks, kept as '\n' like
    // CR LF: a page would show them as a break or as nothing, as it likes.
    const caption = await expectJson<{ image: View }>(
      await json('PATCH', `/api/admin/images/${id}`, {
        caption: 'one\u2028two\u2029three\u0085four',
      }),
      200,
    );
    expect(caption.image.caption).toBe('one\ntwo\nthree\nfour');
    // 200 characters of emoji are 200 characters, not 400 UTF-16 units.
    await expectJson(
      await json('PATCH', `/api/admin/images/${id}`, { title: '🌄'.repeat(200) }),
      200,
    );
    const db = t.db.prepare<[string], { title: string }>('SELECT title FROM images WHERE id = ?');
    expect([...db.get(id)!.title]).toHaveLength(200);
    // The database refuses what the API would, whoever writes.
    expect(() =>
      t.db.prepare('UPDATE images SET title = ? WHERE id = ?').run('x'.repeat(201), id),
    ).toThrow(/CHECK constraint/);
    expect(
      (await json('PATCH', '/api/admin/images/img_aaaaaaaaaaaaaaaaaaaaaaaaaa', { title: 'x' }))
        .status,
    ).toBe(404);
  });

  it('does not move the reaper clock when an image is described', async () => {
    const id = await upload('a.png', makePng(8, 8, 1));
    const before = t.repos.images.get(id)!.updated_at;
    t.clock.now += 60_000;
    await expectJson(await json('PATCH', `/api/admin/images/${id}`, { title: 'later' }), 200);
    expect(t.repos.images.get(id)!.updated_at).toBe(before);
  });

  it('hides, publishes, retries and deletes in bulk, reporting each image', async () => {
    const a = await upload('a.png', makePng(8, 8, 1));
    const b = await upload('b.png', makePng(8, 8, 2));
    const c = await upload('c.png', makePng(8, 8, 3));
    await process(a);
    await process(b);
    await fail(c);
    const hide = await expectJson<{ results: { id: string; ok: boolean }[] }>(
      await json('POST', '/api/admin/images/bulk', { action: 'hide', ids: [a, b] }),
      200,
    );
    expect(hide.results.every((r) => r.ok)).toBe(true);
    expect((await get(SlideshowAnswer, '/api/slideshow')).images).toEqual([]);
    await expectJson(
      await json('POST', '/api/admin/images/bulk', { action: 'publish', ids: [b] }),
      200,
    );
    expect((await get(SlideshowAnswer, '/api/slideshow')).images.map((s) => s.id)).toEqual([b]);

    const retry = await expectJson<{
      results: { id: string; ok: boolean; error?: { code: string } }[];
    }>(await json('POST', '/api/admin/images/bulk', { action: 'retry', ids: [c, a] }), 200);
    expect(retry.results).toEqual([
      { id: c, ok: true },
      {
        id: a,
        ok: false,
        error: { code: 'CONFLICT', message: expect.stringContaining('processed') },
      },
    ]);
    expect(t.repos.images.get(c)?.status).toBe('queued');

    const removed = await expectAnswer(
      BulkActionAnswer,
      await json('POST', '/api/admin/images/bulk', { action: 'delete', ids: [a, b] }),
      200,
    );
    expect(removed.results.map((r) => r.ok)).toEqual([true, true]);
    expect(t.repos.images.get(a)).toBeUndefined();
    expect(await t.store.stat(`originals/${a}`)).toBeUndefined();
    const keys: string[] = [];
    for await (const info of t.store.list(`variants/${b}/`)) keys.push(info.key);
    expect(keys).toEqual([]);
    const tooMany = await json('POST', '/api/admin/images/bulk', {
      action: 'hide',
      ids: Array.from({ length: 501 }, () => a),
    });
    expect(tooMany.status).toBe(400);
  });

  it('orders the slideshow as told, keeps unplaced images after the placed ones, and persists it', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      t.clock.now += 1000;
      const id = await upload(`${i}.png`, makePng(8, 8, i));
      await process(id);
      ids.push(id);
    }
    const [a, b, c, d] = ids as [string, string, string, string];
    const slides = async () =>
      (await get(SlideshowAnswer, '/api/slideshow')).images.map((s) => s.id);
    expect(await slides()).toEqual([d, c, b, a]);
    const unknown = 'img_aaaaaaaaaaaaaaaaaaaaaaaaaa';
    const order = await expectAnswer(
      SlideshowOrderAnswer,
      await json('PUT', '/api/admin/slideshow/order', { ids: [b, a, unknown] }),
      200,
    );
    expect(order).toEqual({ placed: [b, a], ignored: [unknown] });
    expect(await slides()).toEqual([b, a, d, c]);
    const adminView = await get(AdminSlideshowAnswer, '/api/admin/slideshow');
    expect(adminView.images.map((i) => [i.id, i.slidePosition])).toEqual([
      [b, 1],
      [a, 2],
      [d, null],
      [c, null],
    ]);
    await expectJson(await json('PATCH', `/api/admin/images/${b}`, { published: false }), 200);
    expect(await slides()).toEqual([a, d, c]);
    expect((await json('PUT', '/api/admin/slideshow/order', { ids: [a, a] })).status).toBe(400);
  });

  it('answers the slideshow with an ETag and 304 until something changes', async () => {
    const id = await upload('a.png', makePng(8, 8, 1));
    await process(id);
    const first = await t.app.request('/api/slideshow');
    const etag = first.headers.get('etag')!;
    expect(first.headers.get('cache-control')).toBe('public, no-cache');
    const again = await t.app.request('/api/slideshow', { headers: { 'If-None-Match': etag } });
    expect(again.status).toBe(304);
    await expectJson(await json('PATCH', `/api/admin/images/${id}`, { altText: 'changed' }), 200);
    const changed = await t.app.request('/api/slideshow', { headers: { 'If-None-Match': etag } });
    expect(changed.status).toBe(200);
  });

  it('records the timeline: uploaded, dispatched, each attempt with its execution, the outcome and retries', async () => {
    const id = await upload('a.png', makePng(8, 8, 1));
    await fail(id);
    await expectJson(
      await t.app.request(`/api/admin/images/${id}/retry`, { method: 'POST', headers: admin() }),
      202,
    );
    await process(id);
    const { events } = await get(ImageTimelineAnswer, `/api/admin/images/${id}/timeline`);
    expect(events.map((e) => [e.kind, e.generation])).toEqual([
      ['uploaded', 0],
      ['dispatched', 0],
      ['failed', 0],
      ['requeued', 1],
      ['dispatched', 1],
      ['started', 1],
      ['processed', 1],
    ]);
    expect(events.find((e) => e.kind === 'failed')).toMatchObject({
      code: 'CORRUPT_IMAGE',
      execution: 'exec-bad',
    });
    expect(events.find((e) => e.kind === 'started')).toMatchObject({
      attempt: 1,
      execution: `exec-${id}`,
    });
    await expectAnswer(
      ImageDeleteAnswer,
      await t.app.request(`/api/admin/images/${id}`, { method: 'DELETE', headers: admin() }),
      200,
    );
    expect(t.db.prepare('SELECT count(*) AS n FROM image_events').get()).toEqual({ n: 0 });
  });
});
