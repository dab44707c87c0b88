/**
 * The media library API through `app.request()` on a real SQLite file and fs
 * store: listing with search, filters, sorts and a cursor that reaches every
 * image; lookups by id and content hash; describing an image (validated,
 * length-limited, stored as text); bulk actions; the slideshow's visibility,
 * order and ETag; and the timeline written by triggers.
 */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  admin,
  callback,
  expectJson,
  makeApp,
  makePng,
  multipart,
  sampleResult,
  type TestApp,
} from './helpers.ts';

type View = {
  id: string;
  originalName: string;
  status: string;
  bytes: number;
  title: string;
  caption: string;
  altText: string;
  published: boolean;
  failure?: { code: string; message: string } | null;
  thumb: { src: string; width: number; sources: { type: string; srcset: string }[] } | null;
};
type Page = { images: View[]; nextCursor: string | null };
type Slide = { id: string; alt: string; title: string; caption: string };

describe('the media library API', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.cleanup());

  const upload = async (name: string, bytes: Buffer) => {
    const body = await expectJson<{ images: { id: string }[] }>(
      await t.app.request('/api/admin/upload', {
        method: 'POST',
        headers: admin(),
        body: multipart([{ name, bytes }]),
      }),
      202,
    );
    return body.images[0]!.id;
  };
  const json = (method: string, path: string, body?: unknown) =>
    t.app.request(path, {
      method,
      headers: admin({ 'Content-Type': 'application/json' }),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const get = async <T>(path: string) =>
    expectJson<T>(await t.app.request(path, { headers: admin() }), 200);
  const process = async (id: string) => {
    await t.relay.drain();
    const row = t.repos.images.get(id)!;
    await expectJson(
      await t.app.request(`/api/processing/${id}/started`, {
        method: 'POST',
        headers: callback(),
        body: JSON.stringify({ generation: row.generation, execution: `exec-${id}` }),
      }),
      200,
    );
    await expectJson(
      await t.app.request(`/api/processing/${id}/complete`, {
        method: 'POST',
        headers: callback(),
        body: JSON.stringify({ generation: row.generation, result: sampleResult() }),
      }),
      200,
    );
  };
  const fail = async (id: string) => {
    await t.relay.drain();
    const row = t.repos.images.get(id)!;
    await expectJson(
      await t.app.request(`/api/processing/${id}/failed`, {
        method: 'POST',
        headers: callback(),
        body: JSON.stringify({
          generation: row.generation,
          execution: 'exec-bad',
          code: 'CORRUPT_IMAGE',
          message: 'premature end of JPEG data',
        }),
      }),
      200,
    );
  };
  /** Follows nextCursor to the end; bounded by the number of pages it can take. */
  const everything = async (query: string, pageSize: number, maxPages = 50) => {
    const seen: View[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < maxPages; page += 1) {
      const sep = query ? '&' : '';
      const body: Page = await get<Page>(
        `/api/admin/images?${query}${sep}limit=${pageSize}${cursor ? `&cursor=${cursor}` : ''}`,
      );
      seen.push(...body.images);
      cursor = body.nextCursor;
      if (!cursor) return seen;
    }
    throw new Error(`more than ${maxPages} pages`);
  };

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

  it('refuses a cursor from another sort order instead of skipping images', async () => {
    await upload('a.png', makePng(8, 8, 1));
    await upload('b.png', makePng(8, 8, 2));
    const first = await get<Page>('/api/admin/images?sort=name&limit=1');
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
    const hits = await get<Page>('/api/admin/images?q=BEACH');
    expect(hits.images.map((i) => i.id).sort()).toEqual([beach, other].sort());
    expect((await get<Page>('/api/admin/images?q=_')).images.map((i) => i.id)).toEqual([beach]);
    expect((await get<Page>('/api/admin/images?q=%25')).images.map((i) => i.id)).toEqual([other]);
    expect((await get<Page>('/api/admin/images?q=nothing-like-this')).images).toEqual([]);
  });

  it('filters by status and by visibility, and names the failure of a failed image', async () => {
    const good = await upload('good.png', makePng(8, 8, 1));
    const bad = await upload('bad.png', makePng(8, 8, 2));
    await upload('waiting.png', makePng(8, 8, 3));
    await process(good);
    await fail(bad);
    const failed = await get<Page>('/api/admin/images?status=failed');
    expect(failed.images.map((i) => i.id)).toEqual([bad]);
    expect(failed.images[0]!.failure).toEqual({
      code: 'CORRUPT_IMAGE',
      message: 'premature end of JPEG data',
    });
    expect((await get<Page>('/api/admin/images?status=processed')).images[0]!.failure).toBeNull();
    await expectJson(await json('PATCH', `/api/admin/images/${good}`, { published: false }), 200);
    expect(
      (await get<Page>('/api/admin/images?visibility=hidden')).images.map((i) => i.id),
    ).toEqual([good]);
    expect((await get<Page>('/api/admin/images?visibility=published')).images).toHaveLength(2);
  });

  it('offers the smallest variants, at most 640 px wide, as the thumbnail', async () => {
    const id = await upload('a.png', makePng(8, 8, 1));
    await process(id);
    const [image] = (await get<Page>('/api/admin/images')).images;
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
    const body = await expectJson<{ images: View[] }>(
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
    const slides = await get<{ images: Slide[] }>('/api/slideshow');
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

  it('refuses descriptions that are too long, carry control or bidi-override characters, or name nothing', async () => {
    const id = await upload('a.png', makePng(8, 8, 1));
    const refusals: [unknown, RegExp][] = [
      [{ title: 'x'.repeat(201) }, /title: must be at most 200 characters/],
      [{ altText: 'y'.repeat(1001) }, /altText: must be at most 1000 characters/],
      [{ caption: 'z'.repeat(2001) }, /caption: must be at most 2000 characters/],
      [{ title: 'two\nlines' }, /title: must not contain control characters/],
      [{ altText: 'evil\u202Etxt.exe' }, /altText: must not contain control characters/],
      [
        { caption: 'bell\u0007' },
        /caption: must not contain control characters other than line breaks/,
      ],
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
    expect((await get<{ images: Slide[] }>('/api/slideshow')).images).toEqual([]);
    await expectJson(
      await json('POST', '/api/admin/images/bulk', { action: 'publish', ids: [b] }),
      200,
    );
    expect((await get<{ images: Slide[] }>('/api/slideshow')).images.map((s) => s.id)).toEqual([b]);

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

    const removed = await expectJson<{ results: { id: string; ok: boolean }[] }>(
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
      (await get<{ images: Slide[] }>('/api/slideshow')).images.map((s) => s.id);
    expect(await slides()).toEqual([d, c, b, a]);
    const unknown = 'img_aaaaaaaaaaaaaaaaaaaaaaaaaa';
    const order = await expectJson<{ placed: string[]; ignored: string[] }>(
      await json('PUT', '/api/admin/slideshow/order', { ids: [b, a, unknown] }),
      200,
    );
    expect(order).toEqual({ placed: [b, a], ignored: [unknown] });
    expect(await slides()).toEqual([b, a, d, c]);
    const adminView = await get<{ images: { id: string; slidePosition: number | null }[] }>(
      '/api/admin/slideshow',
    );
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
    const { events } = await get<{
      events: {
        kind: string;
        generation: number;
        attempt: number | null;
        execution: string | null;
        code: string | null;
      }[];
    }>(`/api/admin/images/${id}/timeline`);
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
    await expectJson(
      await t.app.request(`/api/admin/images/${id}`, { method: 'DELETE', headers: admin() }),
      200,
    );
    expect(t.db.prepare('SELECT count(*) AS n FROM image_events').get()).toEqual({ n: 0 });
  });
});
