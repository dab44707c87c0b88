/**
 * A storage write that fails ends the upload promptly (docs/security.md,
 * "Production backend"): a full disk answers 507 STORAGE_FULL, an unavailable
 * store 503 STORAGE_UNAVAILABLE, the rest of the body is not read, the partial
 * object and its bookkeeping are removed, no image row is written, and the
 * failure is logged at ERROR with its real cause (before, the upload hung until
 * Node's 15-minute request timeout and logged "The operation was aborted" at
 * INFO). In process with a store that fails mid-stream, and against the real
 * process on a real filesystem whose file size limit (RLIMIT_FSIZE) is hit.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFsObjectStore } from '@slideshow/storage/fs';
import { afterEach, describe, expect, it } from 'vitest';
import { startBackendProcess, streamRequest } from './backend-process.ts';
import { createStoreFailingMidStream, type MidStreamFailure } from './failing-store.ts';
import { admin, expectJson, makeApp, makePng, memoryLogger, type TestApp } from './helpers.ts';
import { fileOfSize, filePartHead, MULTIPART_TYPE, multipartBody } from './multipart-bodies.ts';

type ErrorBody = { error: { code: string; message: string } };
type Images = { images: { id?: string; originalName: string; error?: { code: string } }[] };

/** Regular files under `dir`, relative, recursively. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

/** A multipart body of `head` then `total` bytes made on demand, and how much of it was pulled. */
function lazyMultipart(head: Buffer, total: number) {
  let pulled = 0;
  const chunks = fileOfSize(head, total);
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = chunks.next();
      if (next.done) {
        controller.close();
        return;
      }
      pulled += next.value.length;
      controller.enqueue(new Uint8Array(next.value));
    },
  });
  return { stream, pulled: () => pulled, total };
}

/** Waits for `promise`, failing after `ms` instead of hanging the suite (a bound, not an assertion on time). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms).unref(),
    ),
  ]);
}

describe('an upload whose storage write fails', () => {
  let t: TestApp | undefined;
  let root: string;
  let logs: Record<string, unknown>[];
  afterEach(() => {
    t?.cleanup();
    rmSync(root, { recursive: true, force: true });
  });

  async function appWith(failure: MidStreamFailure) {
    root = mkdtempSync(join(tmpdir(), 'backend-store-'));
    const inner = createFsObjectStore({ root });
    const store = createStoreFailingMidStream(inner, failure);
    const memory = memoryLogger();
    logs = memory.lines;
    t = await makeApp({
      store,
      maxUploadBytes: 100 * 1024 * 1024,
      logger: memory.logger,
    });
    return { app: t, inner, store };
  }

  const pendingRows = () =>
    t!.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM pending_originals').get()?.n;
  const imageRows = () =>
    t!.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM images').get()?.n;

  it('answers 507 STORAGE_FULL when the disk fills mid-stream, stops reading, and leaves nothing behind', async () => {
    const { app } = await appWith({ afterBytes: 1 << 20, errno: 'ENOSPC' });
    const head = Buffer.concat([filePartHead('big.png', 'image/png'), makePng(8, 8, 1)]);
    const body = lazyMultipart(head, 48 << 20);
    const response = await within(
      Promise.resolve(
        app.app.request('/api/admin/upload', {
          method: 'POST',
          headers: admin({ 'Content-Type': MULTIPART_TYPE }),
          body: body.stream,
          duplex: 'half',
        } as RequestInit),
      ),
      20_000,
      'upload to a full disk',
    );
    const error = await expectJson<ErrorBody>(response, 507);
    expect(error.error.code).toBe('STORAGE_FULL');
    expect(body.pulled()).toBeLessThan(body.total / 2);
    expect(filesUnder(join(root, 'originals'))).toEqual([]);
    expect(imageRows()).toBe(0);
    expect(pendingRows()).toBe(0);
    const failure = logs.find((l) => l.message === 'upload failed');
    expect(failure).toMatchObject({ severity: 'ERROR', code: 'STORAGE_FULL' });
    expect(logs.filter((l) => l.severity === 'INFO' && /aborted/i.test(String(l.message)))).toEqual(
      [],
    );
  });

  it('answers 503 STORAGE_UNAVAILABLE when the store fails mid-stream for another reason', async () => {
    const { app } = await appWith({ afterBytes: 256 * 1024, errno: 'EIO' });
    const head = Buffer.concat([filePartHead('big.png', 'image/png'), makePng(8, 8, 2)]);
    const body = lazyMultipart(head, 16 << 20);
    const response = await within(
      Promise.resolve(
        app.app.request('/api/admin/upload', {
          method: 'POST',
          headers: admin({ 'Content-Type': MULTIPART_TYPE }),
          body: body.stream,
          duplex: 'half',
        } as RequestInit),
      ),
      20_000,
      'upload to a failing store',
    );
    expect((await expectJson<ErrorBody>(response, 503)).error.code).toBe('STORAGE_UNAVAILABLE');
    expect(body.pulled()).toBeLessThan(body.total);
    expect(filesUnder(join(root, 'originals'))).toEqual([]);
    expect(imageRows()).toBe(0);
    expect(pendingRows()).toBe(0);
    expect(logs.find((l) => l.message === 'upload failed')).toMatchObject({ severity: 'ERROR' });
  });

  it('keeps the files stored before the failure and refuses the rest of the request', async () => {
    // The first file fits in what is left; the second does not.
    const { app } = await appWith({ afterBytes: 64 * 1024, errno: 'ENOSPC' });
    const first = { head: filePartHead('first.png', 'image/png'), bytes: makePng(8, 8, 3) };
    const second = {
      head: filePartHead('second.png', 'image/png'),
      bytes: Buffer.concat([makePng(8, 8, 4), Buffer.alloc(1 << 20, 1)]),
    };
    const response = await within(
      Promise.resolve(
        app.app.request('/api/admin/upload', {
          method: 'POST',
          headers: admin({ 'Content-Type': MULTIPART_TYPE }),
          body: multipartBody([first, second]),
        }),
      ),
      20_000,
      'two-file upload',
    );
    const { images } = await expectJson<Images>(response, 202);
    expect(images.map((i) => i.error?.code ?? 'accepted')).toEqual(['accepted', 'STORAGE_FULL']);
    expect(filesUnder(join(root, 'originals'))).toEqual([images[0]!.id]);
    expect(imageRows()).toBe(1);
    expect(pendingRows()).toBe(0);
  });
});

const hasPrlimit = spawnSync('prlimit', ['--version']).status === 0;

describe.skipIf(!hasPrlimit)(
  'the backend process on a real filesystem that refuses to grow a file (RLIMIT_FSIZE; skipped without util-linux prlimit)',
  () => {
    it('answers 507 STORAGE_FULL, reads no further, keeps serving, and leaves no object, row or temp file', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'backend-fsize-'));
      const token = 'fsize-admin-token-0123456789abcdef';
      // Every file the process writes is limited to 2 MiB: the 6 MiB upload hits EFBIG
      // (Node ignores SIGXFSZ, so the write fails instead of the process dying).
      const backend = await startBackendProcess(
        {
          DATA_DIR: dir,
          DISPATCH: 'dry-run',
          ADMIN_TOKENS: token,
          MAX_UPLOAD_BYTES: String(64 << 20),
          UPLOAD_IDLE_TIMEOUT_MS: '2000',
        },
        { prlimitFileSizeBytes: 2 << 20 },
      );
      try {
        const head = Buffer.concat([filePartHead('big.png', 'image/png'), makePng(8, 8, 9)]);
        const response = await streamRequest(
          `${backend.url}/api/admin/upload`,
          { Authorization: `Bearer ${token}`, 'Content-Type': MULTIPART_TYPE },
          fileOfSize(head, 40 << 20),
        );
        expect(response.status, response.body).toBe(507);
        expect((JSON.parse(response.body) as ErrorBody).error.code).toBe('STORAGE_FULL');
        expect(response.wroteAll).toBe(false);
        const storage = join(dir, 'storage');
        expect(filesUnder(join(storage, 'originals'))).toEqual([]);
        expect(filesUnder(join(storage, '.objectstore', 'tmp'))).toEqual([]);
        const status = (await (await fetch(`${backend.url}/status`)).json()) as {
          counts: Record<string, number>;
        };
        expect(Object.values(status.counts).reduce((a, b) => a + b, 0)).toBe(0);
        const errorLine = backend
          .logs()
          .split('\n')
          .find((l) => l.includes('"upload failed"'));
        expect(errorLine).toMatch(/"severity":"ERROR"/);
        expect(errorLine).toMatch(/"code":"STORAGE_FULL"/);
        // A small upload still works once there is room (it fits under the limit).
        const small = await streamRequest(
          `${backend.url}/api/admin/upload`,
          { Authorization: `Bearer ${token}`, 'Content-Type': MULTIPART_TYPE },
          [
            multipartBody([
              { head: filePartHead('small.png', 'image/png'), bytes: makePng(8, 8, 10) },
            ]),
          ],
        );
        expect(small.status, small.body).toBe(202);
      } finally {
        backend.child.kill('SIGTERM');
        await backend.exited();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);
