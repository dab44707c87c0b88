/**
 * A store with no room left says so: the filesystem store reports ENOSPC,
 * EDQUOT and EFBIG as a retryable STORAGE_FULL, not STORAGE_UNAVAILABLE
 * (README "Errors"). The failure is real: a child process whose file size
 * limit (`ulimit -f`, RLIMIT_FSIZE) is smaller than the object gets EFBIG
 * from write(2) (Node ignores the SIGXFSZ that comes with it).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isNoSpaceErrno, NO_SPACE_ERRNOS } from './object-store.ts';

const FS_STORE = fileURLToPath(new URL('./fs.ts', import.meta.url));

let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'storage-no-space-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Runs one `put` of `bytes` bytes in a child limited to 8 blocks per file; resolves to what it printed. */
function putUnderFileSizeLimit(key: string, bytes: number): Promise<Record<string, unknown>> {
  const script = [
    `const { createFsObjectStore } = await import(${JSON.stringify(FS_STORE)});`,
    `const store = createFsObjectStore({ root: ${JSON.stringify(root)} });`,
    'try {',
    `  await store.put(${JSON.stringify(key)}, Buffer.alloc(${bytes}, 7), { contentType: 'image/webp' });`,
    '  console.log(JSON.stringify({ stored: true }));',
    '} catch (e) {',
    '  console.log(JSON.stringify({ code: e.code, retryable: e.retryable, errno: e.context?.errno, message: e.message }));',
    '}',
  ].join('\n');
  return new Promise((resolve, reject) => {
    // `ulimit -f` counts 512- or 1024-byte blocks depending on the shell: 8 of them is at most 8 KiB.
    const child = spawn(
      '/bin/sh',
      ['-c', 'ulimit -f 8 && exec "$0" --input-type=module -e "$1"', process.execPath, script],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      err += c;
    });
    child.once('error', reject);
    child.once('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) {
        reject(new Error(`child exited ${code}:\n${out}\n${err}`));
        return;
      }
      resolve(JSON.parse(line) as Record<string, unknown>);
    });
  });
}

describe('a filesystem store with no room left', () => {
  it('reports a write past the file size limit (EFBIG) as a retryable STORAGE_FULL and leaves nothing behind', async () => {
    const key = 'variants/img_full/web-v3/g0/w320.webp';
    expect(await putUnderFileSizeLimit(key, 1024 * 1024)).toEqual({
      code: 'STORAGE_FULL',
      retryable: true,
      errno: 'EFBIG',
      message: `Filesystem put of "${key}" failed: no space left (EFBIG)`,
    });
    // The temp file is removed and no object appears.
    expect(await readdir(path.join(root, '.objectstore', 'tmp'))).toEqual([]);
    await expect(readdir(path.join(root, 'variants'))).rejects.toThrow(/ENOENT/);
  });

  it('still stores an object that fits under the limit', async () => {
    expect(await putUnderFileSizeLimit('small.txt', 100)).toEqual({ stored: true });
  });

  it('names ENOSPC, EDQUOT and EFBIG, and nothing else, as no room left', () => {
    expect(NO_SPACE_ERRNOS).toEqual(['ENOSPC', 'EDQUOT', 'EFBIG']);
    expect(
      ['ENOSPC', 'EDQUOT', 'EFBIG', 'EIO', 'EACCES', undefined, 28].map(isNoSpaceErrno),
    ).toEqual([true, true, true, false, false, false, false]);
  });
});
