/**
 * The GCS adapter's delimiter listing against pages as Cloud Storage sends
 * them. The Storage emulator (the contract suite in gcs.test.ts) honours
 * `delimiter` but paginates the objects alone and repeats every prefix on
 * every page; Cloud Storage counts items plus prefixes against `maxResults`
 * (the client's `GetFilesOptions.maxResults` doc), so a page may hold
 * prefixes only, or end on a prefix. A loopback server speaking the JSON
 * API's `objects.list` answers with such pages, and the real client reads
 * them.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGcsObjectStore } from './gcs.ts';
import { collect } from './testing/test-streams.ts';

/** An `objects.list` item with the fields the adapter reads. */
const item = (name: string) => ({
  kind: 'storage#object',
  name,
  bucket: 'paged',
  size: String(name.length),
  contentType: 'image/jpeg',
  updated: '2026-12-06T12:00:00.000Z',
});

/** The pages, by the token that asks for them (the first has none). */
const PAGES: Record<string, { items?: string[]; prefixes?: string[]; next?: string }> = {
  '': { items: ['p/a.jpg'], prefixes: ['p/b/'], next: 't1' },
  t1: { prefixes: ['p/c/', 'p/d/'], next: 't2' },
  t2: { items: ['p/e.jpg'], prefixes: ['p/f/'], next: 't3' },
  t3: { items: ['p/g.jpg', 'p/h.jpg'] },
};

describe('GCS adapter: a delimiter listing paginated as Cloud Storage does', () => {
  let server: Server;
  let endpoint: string;
  const queries: URLSearchParams[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      queries.push(url.searchParams);
      const page = PAGES[url.searchParams.get('pageToken') ?? ''];
      req.resume();
      res.writeHead(page ? 200 : 400, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'storage#objects',
          ...(page?.items ? { items: page.items.map(item) } : {}),
          ...(page?.prefixes ? { prefixes: page.prefixes } : {}),
          ...(page?.next ? { nextPageToken: page.next } : {}),
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('yields every object and prefix once, in key order, across pages that end on prefixes', async () => {
    const storage = new Storage({ apiEndpoint: endpoint, projectId: 'demo' });
    const store = createGcsObjectStore({ bucket: 'paged', storage, listPageSize: 2 });
    const entries = await collect(store.list('p/', { delimiter: '/' }));
    expect(
      entries.map((e) => (e.kind === 'prefix' ? `prefix ${e.prefix}` : `object ${e.key}`)),
    ).toEqual([
      'object p/a.jpg',
      'prefix p/b/',
      'prefix p/c/',
      'prefix p/d/',
      'object p/e.jpg',
      'prefix p/f/',
      'object p/g.jpg',
      'object p/h.jpg',
    ]);
    expect(entries[0]).toMatchObject({ kind: 'object', bytes: 7, contentType: 'image/jpeg' });
    // One request per page, each asking for one level.
    expect(queries.map((q) => [q.get('prefix'), q.get('delimiter'), q.get('maxResults')])).toEqual(
      Array.from({ length: 4 }, () => ['p/', '/', '2']),
    );
    expect(queries.map((q) => q.get('pageToken'))).toEqual([null, 't1', 't2', 't3']);
  });
});
