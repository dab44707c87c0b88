import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGcsObjectStore } from './gcs.ts';
import { runObjectStoreContract } from './object-store.contract.ts';
import type { ObjectStore } from './object-store.ts';
import { runResumableUploadsContract } from './resumable-uploads.contract.ts';
import { type GcsEmulator, startGcsEmulator } from './testing/gcs-emulator.ts';
import { appErrorOf, generatedStream, readAll } from './testing/test-streams.ts';

let emulator: GcsEmulator;

beforeAll(async () => {
  emulator = await startGcsEmulator();
});

afterAll(async () => {
  await emulator?.stop();
});

runObjectStoreContract('Google Cloud Storage (emulator)', () => ({
  // A small page size so the listing test spans several pages.
  store: createGcsObjectStore({
    bucket: 'contract',
    apiEndpoint: emulator.endpoint,
    projectId: emulator.projectId,
    listPageSize: 3,
  }),
}));

runResumableUploadsContract('Google Cloud Storage (emulator)', () => {
  const store = createGcsObjectStore({
    bucket: 'resumable',
    apiEndpoint: emulator.endpoint,
    projectId: emulator.projectId,
  });
  if (!store.uploads) throw new Error('the GCS store offers no uploads');
  return { store: { ...store, uploads: store.uploads }, sessionBase: emulator.endpoint };
});

describe('Google Cloud Storage store specifics', () => {
  let store: ObjectStore;

  beforeAll(() => {
    store = createGcsObjectStore({
      bucket: 'specific',
      apiEndpoint: emulator.endpoint,
      projectId: emulator.projectId,
      resumableThreshold: 1024 * 1024,
    });
  });

  function startedUploads(): Array<{ type: string; url: string }> {
    return emulator.requests
      .filter((r) => r.method === 'POST' && r.url.startsWith('/upload/storage/v1/b/specific/o'))
      .map((r) => ({
        type: new URL(r.url, 'http://x').searchParams.get('uploadType') ?? '',
        url: r.url,
      }));
  }

  it('switches to a resumable session past the default 8 MiB threshold when the size is unknown', async () => {
    const defaults = createGcsObjectStore({
      bucket: 'defaults',
      apiEndpoint: emulator.endpoint,
      projectId: emulator.projectId,
    });
    await defaults.put('under.bin', generatedStream(8 * 1024 * 1024).stream, {
      contentType: 'application/octet-stream',
    });
    await defaults.put('over.bin', generatedStream(8 * 1024 * 1024 + 1).stream, {
      contentType: 'application/octet-stream',
    });
    const types = (name: string) =>
      emulator.requests
        .filter(
          (r) =>
            r.method === 'POST' &&
            r.url.startsWith('/upload/storage/v1/b/defaults/o') &&
            r.url.includes(name),
        )
        .map((r) => new URL(r.url, 'http://x').searchParams.get('uploadType'));
    expect(types('under.bin')).toEqual(['multipart']);
    expect(types('over.bin')).toEqual(['resumable']);
    expect((await defaults.stat('over.bin'))?.bytes).toBe(8 * 1024 * 1024 + 1);
  });

  it('uploads a body under the threshold in a single multipart request', async () => {
    const before = startedUploads().length;
    await store.put('small/one.bin', Buffer.alloc(1000, 1), {
      contentType: 'application/octet-stream',
    });
    const { stream } = generatedStream(200_000);
    await store.put('small/two.bin', stream, { contentType: 'application/octet-stream' });
    expect(
      startedUploads()
        .slice(before)
        .map((u) => u.type),
    ).toEqual(['multipart', 'multipart']);
  });

  it('uploads a body over the threshold through a resumable session, with or without a size hint', async () => {
    const before = startedUploads().length;
    const hinted = generatedStream(3 * 1024 * 1024);
    await store.put('large/hinted.bin', hinted.stream, {
      contentType: 'application/octet-stream',
      size: 3 * 1024 * 1024,
    });
    const unhinted = generatedStream(3 * 1024 * 1024);
    const info = await store.put('large/unhinted.bin', unhinted.stream, {
      contentType: 'application/octet-stream',
    });
    expect(info.bytes).toBe(3 * 1024 * 1024);
    expect(
      startedUploads()
        .slice(before)
        .map((u) => u.type),
    ).toEqual(['resumable', 'resumable']);
    expect((await readAll(await store.get('large/unhinted.bin'))).length).toBe(3 * 1024 * 1024);
  });

  it('leaves no object when the source fails during a resumable or a single-request upload already under way', async () => {
    const resumable = generatedStream(4 * 1024 * 1024, { failAfter: 2 * 1024 * 1024 });
    await expect(
      store.put('broken/resumable.bin', resumable.stream, {
        contentType: 'application/octet-stream',
      }),
    ).rejects.toThrow('source failed mid-stream');
    const single = generatedStream(800 * 1024, { failAfter: 256 * 1024 });
    await expect(
      store.put('broken/single.bin', single.stream, {
        contentType: 'application/octet-stream',
        size: 800 * 1024,
      }),
    ).rejects.toThrow('source failed mid-stream');
    expect(await store.stat('broken/resumable.bin')).toBeUndefined();
    expect(await store.stat('broken/single.bin')).toBeUndefined();
  });

  it('leaves the previous object intact when an overwrite is aborted mid-upload', async () => {
    await store.put('aborted/kept.bin', Buffer.from('previous'), { contentType: 'text/plain' });
    const controller = new AbortController();
    const { stream } = generatedStream(4 * 1024 * 1024, {
      onChunk: (produced) => {
        if (produced >= 2 * 1024 * 1024) controller.abort(new Error('shutting down'));
      },
    });
    await expect(
      store.put('aborted/kept.bin', stream, {
        contentType: 'application/octet-stream',
        signal: controller.signal,
      }),
    ).rejects.toThrow('shutting down');
    expect((await readAll(await store.get('aborted/kept.bin'))).toString()).toBe('previous');
  });

  it('sends no credentials to the emulator', async () => {
    // The emulator would accept a token too; what matters is that the client never tried to
    // obtain one (no key file, no metadata-server probe), which shows as requests without one.
    await store.put('auth/none.txt', Buffer.alloc(2 * 1024 * 1024), { contentType: 'text/plain' });
    expect(await store.stat('auth/none.txt')).toBeDefined();
    const ours = emulator.requests.filter((r) => r.url.includes('/b/specific/'));
    expect(ours.length).toBeGreaterThan(0);
    expect(ours.filter((r) => r.authorization !== undefined)).toEqual([]);
  });

  it('reports an unreachable server as a retryable STORAGE_UNAVAILABLE', async () => {
    const closed = await startGcsEmulator();
    await closed.stop();
    const storage = new Storage({
      apiEndpoint: closed.endpoint,
      projectId: 'demo',
      retryOptions: { autoRetry: false },
    });
    const offline = createGcsObjectStore({ bucket: 'offline', storage });
    for (const attempt of [
      offline.stat('a.txt'),
      offline.get('a.txt'),
      offline.put('a.txt', Buffer.from('x'), { contentType: 'text/plain' }),
    ]) {
      const error = await appErrorOf(attempt);
      expect(error.code).toBe('STORAGE_UNAVAILABLE');
      expect(error.retryable).toBe(true);
    }
  });

  it('sends startAfter as startOffset, so a listing from part-way asks only for the page after it', async () => {
    const paged = createGcsObjectStore({
      bucket: 'offsets',
      apiEndpoint: emulator.endpoint,
      projectId: emulator.projectId,
      listPageSize: 3,
    });
    const keys = Array.from({ length: 9 }, (_, i) => `o/${i}.bin`);
    for (const key of keys) await paged.put(key, Buffer.from(key), { contentType: 'image/png' });
    const before = emulator.requests.length;
    const listed: string[] = [];
    for await (const info of paged.list('o/', { startAfter: 'o/5.bin' })) listed.push(info.key);
    expect(listed).toEqual(['o/6.bin', 'o/7.bin', 'o/8.bin']);
    // The adapter's own requests (page size 3); startOffset is inclusive, so the one page holds
    // o/5.bin, which the adapter drops, and o/8.bin ends the listing with the next page.
    const queries = emulator.requests
      .slice(before)
      .map((r) => new URL(r.url, 'http://x'))
      .filter(
        (url) =>
          url.pathname.endsWith('/b/offsets/o') && url.searchParams.get('maxResults') === '3',
      )
      .map((url) => url.searchParams.get('startOffset'));
    expect(queries).toEqual(['o/5.bin', 'o/5.bin']);
  });

  it('compares startAfter by UTF-8 bytes, as Cloud Storage orders keys, so a key above U+FFFF is not skipped', async () => {
    // By UTF-16 code units '😀' (U+1F600, a surrogate pair from 0xD83D) sorts before '～'
    // (U+FF5E); by UTF-8 bytes (F0… against EF…), Cloud Storage's order, after it.
    const store = createGcsObjectStore({
      bucket: 'byte-order',
      apiEndpoint: emulator.endpoint,
      projectId: emulator.projectId,
    });
    for (const key of ['u/\uFF5E', 'u/😀', 'u/a']) {
      await store.put(key, Buffer.from(key), { contentType: 'image/png' });
    }
    const listed: string[] = [];
    for await (const info of store.list('u/', { startAfter: 'u/\uFF5E' })) listed.push(info.key);
    expect(listed).toEqual(['u/😀']);
    const entries: string[] = [];
    for await (const entry of store.list('u/', { delimiter: '/', startAfter: 'u/a' })) {
      entries.push(entry.kind === 'object' ? entry.key : entry.prefix);
    }
    expect(entries).toEqual(['u/\uFF5E', 'u/😀']);
  });
});

describe('openObjectStore with a gs:// location', () => {
  it('opens the GCS adapter for the named bucket', async () => {
    const { openObjectStore } = await import('./open.ts');
    const store = await openObjectStore('gs://opened', {
      gcs: { apiEndpoint: emulator.endpoint, projectId: emulator.projectId },
    });
    await store.put('k.txt', Buffer.from('via open'), { contentType: 'text/plain' });
    expect((await readAll(await store.get('k.txt'))).toString()).toBe('via open');
    expect(emulator.requests.some((r) => r.url.includes('/b/opened/'))).toBe(true);
  });
});

describe('Google Cloud Storage error mapping', () => {
  let status = 503;
  let server: Server;
  let endpoint: string;

  // A loopback server that answers every JSON API call with the current status and Google's
  // error body, so the real client produces the errors it would get from Cloud Storage.
  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            error: {
              code: status,
              message: `status ${status}`,
              errors: [{ message: `status ${status}`, reason: 'test' }],
            },
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function failingStore(): ObjectStore {
    const storage = new Storage({
      apiEndpoint: endpoint,
      projectId: 'demo',
      retryOptions: { autoRetry: false },
    });
    return createGcsObjectStore({ bucket: 'faulty', storage, resumableThreshold: 1024 * 1024 });
  }

  async function everyOperation(store: ObjectStore) {
    const listing = (async () => {
      for await (const _ of store.list('a/')) break;
    })();
    return Promise.all(
      [
        store.stat('a/b.txt'),
        store.get('a/b.txt'),
        store.put('a/b.txt', Buffer.from('x'), { contentType: 'text/plain' }),
        store.put('a/big.bin', Buffer.alloc(2 * 1024 * 1024), {
          contentType: 'application/octet-stream',
        }),
        store.delete('a/b.txt'),
        listing,
      ].map((attempt) => appErrorOf(attempt)),
    );
  }

  it.each([503, 500, 429, 408])(
    'reports HTTP %i as a retryable STORAGE_UNAVAILABLE from every operation',
    async (code) => {
      status = code;
      for (const error of await everyOperation(failingStore())) {
        expect(error.code).toBe('STORAGE_UNAVAILABLE');
        expect(error.retryable).toBe(true);
      }
    },
  );

  it('reports HTTP 403 as a non-retryable FORBIDDEN from every operation', async () => {
    status = 403;
    for (const error of await everyOperation(failingStore())) {
      expect(error.code).toBe('FORBIDDEN');
      expect(error.retryable).toBe(false);
    }
  });
});
