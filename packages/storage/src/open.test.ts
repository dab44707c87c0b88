import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openObjectStore, parseObjectStoreLocation } from './open.ts';
import { readAll } from './testing/test-streams.ts';

const run = promisify(execFile);
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'storage-open-test-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('parseObjectStoreLocation', () => {
  it('reads gs://bucket as a GCS bucket', () => {
    expect(parseObjectStoreLocation('gs://my-bucket_1.example')).toEqual({
      kind: 'gcs',
      bucket: 'my-bucket_1.example',
    });
    expect(parseObjectStoreLocation('gs://my-bucket/')).toEqual({
      kind: 'gcs',
      bucket: 'my-bucket',
    });
  });

  it('reads file URLs and plain paths as folders, resolving relative paths', () => {
    expect(parseObjectStoreLocation('file:///var/data/images')).toEqual({
      kind: 'fs',
      root: '/var/data/images',
    });
    expect(parseObjectStoreLocation('/var/data/images')).toEqual({
      kind: 'fs',
      root: '/var/data/images',
    });
    expect(parseObjectStoreLocation('data/images')).toEqual({
      kind: 'fs',
      root: path.resolve('data/images'),
    });
  });

  it('keeps a folder named with a space, #, ? or % whole when its URL comes from pathToFileURL', () => {
    const root = '/tmp/my photos #1 ?draft 100%';
    expect(parseObjectStoreLocation(pathToFileURL(root).href)).toEqual({ kind: 'fs', root });
  });

  it.each([
    ['an empty string', ''],
    ['a gs:// URL with a path', 'gs://bucket/prefix'],
    ['an invalid bucket name', 'gs://Bad_Bucket'],
    ['an unsupported scheme', 's3://bucket'],
    ['a remote file URL', 'file://server/share'],
    // A raw "#" would end the path there and name another folder ("/data/my ").
    ['a file URL with a fragment', 'file:///data/my #1/storage'],
    ['a file URL with a query', 'file:///data/images?x=1'],
  ])('refuses %s with VALIDATION_FAILED', (_label, location) => {
    expect(() => parseObjectStoreLocation(location)).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED' }),
    );
  });
});

describe('openObjectStore', () => {
  it('opens a working filesystem store from a file URL', async () => {
    const root = path.join(scratch, 'by-url');
    const store = await openObjectStore(pathToFileURL(root).href);
    await store.put('a/b.txt', Buffer.from('hello'), { contentType: 'text/plain' });
    expect((await readAll(await store.get('a/b.txt'))).toString()).toBe('hello');
  });

  it('never loads the Google Cloud Storage client when opening a folder', async () => {
    const openModule = pathToFileURL(fileURLToPath(new URL('./open.ts', import.meta.url))).href;
    // A resolve hook in a fresh process records every module that gets loaded.
    const script = `
      import { registerHooks } from 'node:module';
      const seen = [];
      registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.push(r.url); return r; } });
      const { openObjectStore } = await import(${JSON.stringify(openModule)});
      const store = await openObjectStore(${JSON.stringify(path.join(scratch, 'isolated'))});
      await store.put('x.txt', Buffer.from('x'), { contentType: 'text/plain' });
      console.log(JSON.stringify({ gcs: seen.filter((u) => u.includes('@google-cloud')), fs: seen.some((u) => u.endsWith('/fs.ts')) }));
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      timeout: 30_000,
    });
    expect(JSON.parse(stdout.trim())).toEqual({ gcs: [], fs: true });
  });
});
