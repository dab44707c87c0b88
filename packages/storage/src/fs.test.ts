import { mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFsObjectStore, type FsObjectStore } from './fs.ts';
import { createFsStoreContext } from './fs-context.ts';
import { createFsReader } from './fs-read.ts';
import { runObjectStoreContract } from './object-store.contract.ts';
import { runResumableUploadsContract } from './resumable-uploads.contract.ts';
import { type FsUploadServer, startFsUploadServer } from './testing/fs-upload-server.ts';
import { appErrorOf, generatedStream, readAll } from './testing/test-streams.ts';

let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'storage-fs-test-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

runObjectStoreContract('filesystem', async () => ({
  store: createFsObjectStore({ root: path.join(scratch, 'contract') }),
  // Chunks are 256 KiB and the pipeline holds a few at a time; holding all 20 MB would fail this.
  maxBufferedBytes: 8 * 1024 * 1024,
}));

let sessionServer: FsUploadServer | undefined;
afterAll(async () => {
  await sessionServer?.close();
});

runResumableUploadsContract('filesystem (session server on loopback)', async () => {
  const store = createFsObjectStore({
    root: path.join(scratch, 'resumable'),
    uploadSessionPath: '/sessions/',
  });
  if (!store.uploads) throw new Error('the fs store offers no uploads with uploadSessionPath');
  sessionServer = await startFsUploadServer(store.uploads, '/sessions/');
  return { store: { ...store, uploads: store.uploads }, sessionBase: sessionServer.url };
});

describe('filesystem store specifics', () => {
  let root: string;
  let outside: string;
  let store: FsObjectStore;

  beforeAll(async () => {
    root = path.join(scratch, 'specific');
    outside = path.join(scratch, 'outside');
    await mkdir(outside, { recursive: true });
    await writeFile(path.join(outside, 'secret.txt'), 'secret');
    store = createFsObjectStore({ root });
    await store.put('seed.txt', Buffer.from('seed'), { contentType: 'text/plain' });
  });

  it('stores an object as a plain file at its key under the root', async () => {
    await store.put('images/abc/640.webp', Buffer.from('webp'), { contentType: 'image/webp' });
    expect(await readdir(path.join(root, 'images', 'abc'))).toEqual(['640.webp']);
  });

  it('refuses to read, write or list through a symlinked folder that points outside the root', async () => {
    await symlink(outside, path.join(root, 'escape'));
    expect((await appErrorOf(store.get('escape/secret.txt'))).code).toBe('VALIDATION_FAILED');
    expect((await appErrorOf(store.stat('escape/secret.txt'))).code).toBe('VALIDATION_FAILED');
    expect(
      (
        await appErrorOf(
          store.put('escape/new.txt', Buffer.from('x'), { contentType: 'text/plain' }),
        )
      ).code,
    ).toBe('VALIDATION_FAILED');
    expect(
      (
        await appErrorOf(
          store.put('escape/deeper/new.txt', Buffer.from('x'), { contentType: 'text/plain' }),
        )
      ).code,
    ).toBe('VALIDATION_FAILED');
    expect(await readdir(outside)).toEqual(['secret.txt']);
    expect(await readdir(path.join(root, '.objectstore', 'meta'))).not.toContain('escape');
    expect(await readdir(path.join(root, '.objectstore', 'tmp'))).toEqual([]);
    const listed: string[] = [];
    for await (const info of store.list('')) listed.push(info.key);
    expect(listed.some((key) => key.startsWith('escape'))).toBe(false);
  });

  it('lists one level with a delimiter without symlinks, its own folder or folders that hold no object', async () => {
    await mkdir(path.join(root, 'levels', 'empty', 'deeper'), { recursive: true });
    // A name no key can be (a backslash) is not an object, so its folder is no common prefix.
    await mkdir(path.join(root, 'levels', 'odd'), { recursive: true });
    await writeFile(path.join(root, 'levels', 'odd', 'back\\slash.txt'), 'x');
    await symlink(outside, path.join(root, 'levels', 'linked'));
    // Dropped in by hand, two folders down: a common prefix like any other.
    await mkdir(path.join(root, 'levels', 'handmade', 'a', 'b'), { recursive: true });
    await writeFile(path.join(root, 'levels', 'handmade', 'a', 'b', 'photo.jpg'), 'jpg');
    await store.put('levels/kept.txt', Buffer.from('kept'), { contentType: 'text/plain' });
    const shown = async (prefix: string) => {
      const entries: string[] = [];
      for await (const e of store.list(prefix, { delimiter: '/' })) {
        entries.push(e.kind === 'prefix' ? `prefix ${e.prefix}` : `object ${e.key}`);
      }
      return entries;
    };
    expect(await shown('levels/')).toEqual(['prefix levels/handmade/', 'object levels/kept.txt']);
    const top = await shown('');
    expect(top).toContain('prefix levels/');
    expect(top.filter((e) => e.includes('.objectstore') || e.includes('escape'))).toEqual([]);
  });

  it('removes on a repeated folder delete the empty folders a delete cut short left behind', async () => {
    await store.put('cut/img/p/g0/a.webp', Buffer.from('a'), { contentType: 'image/webp' });
    await store.put('cut/img/p/g0/sub/b.avif', Buffer.from('b'), { contentType: 'image/avif' });
    await store.put('cut/img/p/g1/c.webp', Buffer.from('c'), { contentType: 'image/webp' });
    // A crash between the files' unlinks and their folders' removal: the files are gone, the
    // folders (and the sidecars' folders) stay, and no listing shows anything under g0/.
    await rm(path.join(root, 'cut', 'img', 'p', 'g0', 'a.webp'));
    await rm(path.join(root, 'cut', 'img', 'p', 'g0', 'sub', 'b.avif'));
    await rm(path.join(root, '.objectstore', 'meta', 'cut', 'img', 'p', 'g0', 'a.webp'));
    await rm(path.join(root, '.objectstore', 'meta', 'cut', 'img', 'p', 'g0', 'sub', 'b.avif'));
    expect(await store.deletePrefix('cut/img/p/g0/')).toBe(0);
    expect(await readdir(path.join(root, 'cut', 'img', 'p'))).toEqual(['g1']);
    expect(await readdir(path.join(root, '.objectstore', 'meta', 'cut', 'img', 'p'))).toEqual([
      'g1',
    ]);
    // The last set goes the same way, and with it every folder above it that it emptied.
    await rm(path.join(root, 'cut', 'img', 'p', 'g1', 'c.webp'));
    await rm(path.join(root, '.objectstore', 'meta', 'cut', 'img', 'p', 'g1', 'c.webp'));
    expect(await store.deletePrefix('cut/img/p/g1/')).toBe(0);
    expect(await readdir(root)).not.toContain('cut');
    expect(await readdir(path.join(root, '.objectstore', 'meta'))).not.toContain('cut');
  });

  it('never removes an empty folder outside the root through a symlinked folder', async () => {
    await mkdir(path.join(outside, 'empty', 'deeper'), { recursive: true });
    await symlink(outside, path.join(root, 'linked-out'));
    await store.deletePrefix('linked-out/empty/').catch(() => undefined);
    await mkdir(path.join(root, 'real'), { recursive: true });
    await symlink(path.join(outside, 'empty'), path.join(root, 'real', 'link'));
    await store.deletePrefix('real/link/').catch(() => undefined);
    expect(await readdir(path.join(outside, 'empty'))).toEqual(['deeper']);
  });

  it('does not follow a symlinked object file that points outside the root', async () => {
    await symlink(path.join(outside, 'secret.txt'), path.join(root, 'link.txt'));
    expect((await appErrorOf(store.get('link.txt'))).code).toBe('VALIDATION_FAILED');
    expect(await store.stat('link.txt')).toBeUndefined();
  });

  it('refuses keys inside its own bookkeeping folder', async () => {
    expect((await appErrorOf(store.get('.objectstore/tmp/x'))).code).toBe('VALIDATION_FAILED');
    expect(
      (
        await appErrorOf(
          store.put('.objectstore/meta/x', Buffer.from('x'), { contentType: 'text/plain' }),
        )
      ).code,
    ).toBe('VALIDATION_FAILED');
  });

  it('never shows temp files or sidecars in listings while a write is in flight', async () => {
    const { stream } = generatedStream(512 * 1024, { chunkSize: 8 * 1024 });
    let listedDuringWrite: string[] = [];
    const slow = stream.map(async (chunk: Buffer) => {
      if (listedDuringWrite.length === 0) {
        for await (const info of store.list('')) listedDuringWrite.push(info.key);
      }
      return chunk;
    });
    await store.put('inflight/object.bin', slow, { contentType: 'application/octet-stream' });
    expect(listedDuringWrite).not.toContain('inflight/object.bin');
    expect(listedDuringWrite.every((key) => !key.startsWith('.objectstore'))).toBe(true);
    listedDuringWrite = [];
    for await (const info of store.list('')) listedDuringWrite.push(info.key);
    expect(listedDuringWrite).toContain('inflight/object.bin');
  });

  it('ignores crash leftovers in the temp folder and sweeps them once they are stale', async () => {
    const tmp = path.join(root, '.objectstore', 'tmp');
    await writeFile(path.join(tmp, 'crashed.data'), 'half an upload');
    expect(await store.stat('crashed.data')).toBeUndefined();
    expect(await store.sweepTempFiles()).toBe(0); // fresh: may belong to a write in progress
    const old = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(path.join(tmp, 'crashed.data'), old, old);
    expect(await store.sweepTempFiles()).toBe(1);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('serves a file dropped into the folder by hand as application/octet-stream', async () => {
    await mkdir(path.join(root, 'dropped'), { recursive: true });
    await writeFile(path.join(root, 'dropped', 'holiday.jpg'), 'jpeg bytes');
    expect(await store.stat('dropped/holiday.jpg')).toMatchObject({
      bytes: 10,
      contentType: 'application/octet-stream',
    });
    expect((await readAll(await store.get('dropped/holiday.jpg'))).toString()).toBe('jpeg bytes');
  });

  it('reports a key that collides with a folder of other keys as CONFLICT', async () => {
    await store.put('conflict/child.txt', Buffer.from('child'), { contentType: 'text/plain' });
    const error = await appErrorOf(
      store.put('conflict', Buffer.from('parent'), { contentType: 'text/plain' }),
    );
    expect(error.code).toBe('CONFLICT');
    expect(await store.stat('conflict')).toBeUndefined();
  });

  it('removes folders emptied by a delete so the layout mirrors the keys', async () => {
    await store.put('emptied/a/b/c.txt', Buffer.from('c'), { contentType: 'text/plain' });
    await store.delete('emptied/a/b/c.txt');
    expect(await readdir(root)).not.toContain('emptied');
  });

  it('answers reads of a store whose root does not exist yet as empty', async () => {
    const empty = createFsObjectStore({ root: path.join(scratch, 'never-created') });
    expect(await empty.stat('a.txt')).toBeUndefined();
    expect((await appErrorOf(empty.get('a.txt'))).code).toBe('NOT_FOUND');
    const listed: string[] = [];
    for await (const info of empty.list('')) listed.push(info.key);
    expect(listed).toEqual([]);
    await expect(empty.delete('a.txt')).resolves.toBeUndefined();
    expect(await empty.deletePrefix('')).toBe(0);
  });

  it('reports an I/O failure as a retryable STORAGE_UNAVAILABLE', async () => {
    const fileAsRoot = path.join(scratch, 'a-file');
    await writeFile(fileAsRoot, 'not a folder');
    // A root below a regular file cannot be created: ENOTDIR from mkdir is an I/O failure here.
    const broken = createFsObjectStore({ root: path.join(fileAsRoot, 'root') });
    const error = await appErrorOf(
      broken.put('a.txt', Buffer.from('x'), { contentType: 'text/plain' }),
    );
    expect(error.code).toBe('STORAGE_UNAVAILABLE');
    expect(error.retryable).toBe(true);
  });
});

describe('filesystem store: a listing from startAfter', () => {
  it('looks up only the objects after startAfter, not entering the folders before it', async () => {
    const root = path.join(scratch, 'seek');
    for (const folder of ['a', 'b', 'c']) {
      await mkdir(path.join(root, 'photos', folder), { recursive: true });
      for (let i = 0; i < 10; i++)
        await writeFile(path.join(root, 'photos', folder, `${i}.jpg`), 'x');
    }
    // The real store's reads over a real context, counting each object whose metadata is read.
    const context = createFsStoreContext(root);
    const lookedUp: string[] = [];
    const reader = createFsReader({
      ...context,
      infoAt: (key, file) => {
        lookedUp.push(key);
        return context.infoAt(key, file);
      },
    });
    const keys: string[] = [];
    for await (const info of reader.list('photos/', { startAfter: 'photos/b/4.jpg' })) {
      keys.push(info.key);
    }
    const expected = [
      ...[5, 6, 7, 8, 9].map((i) => `photos/b/${i}.jpg`),
      ...Array.from({ length: 10 }, (_, i) => `photos/c/${i}.jpg`),
    ];
    expect(keys).toEqual(expected);
    expect(lookedUp).toEqual(expected);
  });
});
