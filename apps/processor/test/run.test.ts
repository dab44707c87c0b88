/**
 * run() in process against a real backend (Hono app on loopback, SQLite file,
 * filesystem store) with real sharp: the flow and the error policy (exit 0 for permanent errors).
 */
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { crc32 } from 'node:zlib';
import { startTestBackend, type TestBackend } from '@slideshow/backend/testing';
import { createSharedSecretCredentials } from '@slideshow/callback-auth/shared-secret';
import type { Variant } from '@slideshow/contracts';
import { DEFAULT_PRESET } from '@slideshow/imaging';
import { AppError, createLogger } from '@slideshow/runtime';
import type { ObjectStore } from '@slideshow/storage';
import { createFsObjectStore } from '@slideshow/storage/fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { hangUntilTerminated } from '../src/faults.ts';
import { type RunDeps, run, VARIANT_CACHE_CONTROL } from '../src/run.ts';
import { breakObject, makeJpeg, makeTruncatedJpeg, processorEnv } from './helpers.ts';

let backend: TestBackend;

beforeAll(async () => {
  backend = await startTestBackend();
});

afterAll(async () => {
  await backend?.stop();
});

interface FailedTaskRow {
  image_id: string;
  error_code: string;
  error_message: string;
  attempt_count: number;
  execution: string | null;
  source: string;
}

const failedTask = (id: string) =>
  backend.db.prepare('SELECT * FROM failed_tasks WHERE image_id = ?').get(id) as
    | FailedTaskRow
    | undefined;
const imageRow = (id: string) =>
  backend.db.prepare('SELECT * FROM images WHERE id = ?').get(id) as Record<string, unknown>;

/** Runs one task in process; `lines` collects its JSON log lines. */
function runTask(
  id: string,
  overrides: Record<string, string> = {},
  signal?: AbortSignal,
  extra: Pick<RunDeps, 'afterStarted' | 'jobSpec'> = {},
) {
  const lines: Record<string, unknown>[] = [];
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => {
    for (const text of chunk.toString().split('\n')) if (text) lines.push(JSON.parse(text));
  });
  const config = loadConfig(
    processorEnv(backend, id, { CALLBACK_DEADLINE_MS: '1500', ...overrides }),
  );
  const promise = run(config, {
    store: createFsObjectStore({ root: backend.storeRoot }),
    credentials: createSharedSecretCredentials(backend.callbackSecret),
    logger: createLogger({ stream, level: 'DEBUG' }),
    signal: signal ?? new AbortController().signal,
    ...extra,
  });
  return { promise, lines };
}

describe('run() on a healthy stack', () => {
  let id: string;
  let variants: Variant[];

  beforeAll(async () => {
    ({ id } = await backend.upload(await makeJpeg(700, 420, 3), 'ok.jpg'));
  });

  it('writes every variant under the job spec prefix and marks the image processed', async () => {
    const { promise, lines } = runTask(id);
    await expect(promise).resolves.toMatchObject({ exitCode: 0, outcome: 'processed' });
    const image = await backend.image(id);
    expect(image.status).toBe('processed');
    variants = JSON.parse(String(imageRow(id).variants)) as Variant[];
    expect(variants.map((v) => `${v.format}@${v.width}`).sort()).toEqual([
      'avif@320',
      'avif@640',
      'avif@700',
      'jpeg@320',
      'jpeg@640',
      'jpeg@700',
      'webp@320',
      'webp@640',
      'webp@700',
    ]);
    const prefix = `variants/${id}/${DEFAULT_PRESET}/g${image.generation}/`;
    for (const v of variants) {
      const info = await backend.store.stat(`${prefix}${v.suffix}`);
      expect(info).toMatchObject({ bytes: v.bytes, cacheControl: VARIANT_CACHE_CONTROL });
      expect(info?.contentType).toBe(`image/${v.format}`);
      const meta = await sharp(join(backend.storeRoot, prefix, v.suffix)).metadata();
      expect({ width: meta.width, height: meta.height }).toEqual({
        width: v.width,
        height: v.height,
      });
    }
    // Every log line carries the image and the attempt, with Cloud Logging's severity.
    expect(lines.length).toBeGreaterThan(2);
    for (const line of lines)
      expect(line).toMatchObject({ imageId: id, attempt: 0, severity: expect.any(String) });
  });

  it('changes nothing when the same task is delivered again after success', async () => {
    const prefix = `variants/${id}/${DEFAULT_PRESET}/g0/`;
    const before = await Promise.all(
      variants.map((v) => stat(join(backend.storeRoot, prefix, v.suffix)).then((s) => s.mtimeMs)),
    );
    const rowBefore = imageRow(id);
    const { promise } = runTask(id, { CLOUD_RUN_EXECUTION: 'processor-duplicate' });
    await expect(promise).resolves.toMatchObject({ exitCode: 0, outcome: 'already-done' });
    const after = await Promise.all(
      variants.map((v) => stat(join(backend.storeRoot, prefix, v.suffix)).then((s) => s.mtimeMs)),
    );
    expect(after).toEqual(before);
    expect(imageRow(id)).toEqual(rowBefore);
    expect(failedTask(id)).toBeUndefined();
  });
});

/**
 * A PNG whose signature chunk list says APNG: an `acTL` (animation control,
 * `frames` frames) before the first `IDAT`. Only the header's chunk list
 * matters here; the still image is the IDAT's.
 */
async function pngMarkedAnimated(frames: number): Promise<Buffer> {
  const png = await sharp({
    create: { width: 400, height: 300, channels: 3, background: '#3070c0' },
  })
    .png()
    .toBuffer();
  const data = Buffer.alloc(8);
  data.writeUInt32BE(frames, 0); // num_frames
  data.writeUInt32BE(0, 4); // num_plays: forever
  const type = Buffer.from('acTL', 'latin1');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([type, data])));
  const afterIhdr = 8 + 8 + 13 + 4; // signature, IHDR's length+type, its data, its CRC
  return Buffer.concat([
    png.subarray(0, afterIhdr),
    length,
    type,
    data,
    crc,
    png.subarray(afterIhdr),
  ]);
}

describe('run() warnings', () => {
  it('processes an APNG as a still and says so in one WARNING with the frame count', async () => {
    const { id } = await backend.upload(await pngMarkedAnimated(3), 'spinner.png');
    const { promise, lines } = runTask(id);
    await expect(promise).resolves.toMatchObject({ exitCode: 0, outcome: 'processed' });
    expect((await backend.image(id)).status).toBe('processed');
    const warnings = lines.filter((l) => l.code === 'APNG_ANIMATION_DROPPED');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ severity: 'WARNING', frames: 3 });
  });
});

describe('run() error policy', () => {
  it('reports a truncated JPEG as CORRUPT_IMAGE and exits 0 so no retry is burned', async () => {
    const { id } = await backend.upload(await makeTruncatedJpeg(), 'cut.jpg');
    const { promise, lines } = runTask(id);
    await expect(promise).resolves.toMatchObject({ exitCode: 0, outcome: 'failed-permanent' });
    expect(failedTask(id)).toMatchObject({
      error_code: 'CORRUPT_IMAGE',
      source: 'processor',
      execution: 'processor-test-exec',
    });
    expect((await backend.image(id)).status).toBe('failed');
    // The upload's fault, not the system's: a warning with the code, no ERROR and no stacks.
    expect(lines.filter((l) => l.severity === 'ERROR')).toEqual([]);
    expect(lines.find((l) => l.message === 'image refused (permanent)')).toMatchObject({
      severity: 'WARNING',
      code: 'CORRUPT_IMAGE',
      error: expect.any(String),
    });
  });

  it('exits non-zero without a failed_tasks row when storage fails on a non-final attempt', async () => {
    const { id } = await backend.upload(await makeJpeg(400, 300, 11), 'a.jpg');
    const restore = await breakObject(backend.storeRoot, `originals/${id}`);
    try {
      const { promise } = runTask(id, { CLOUD_RUN_TASK_ATTEMPT: '1' });
      const result = await promise;
      expect(result).toMatchObject({ exitCode: 1, outcome: 'retryable' });
      expect(result.error?.code).toBe('STORAGE_UNAVAILABLE');
    } finally {
      await restore();
    }
    expect(failedTask(id)).toBeUndefined();
    expect((await backend.image(id)).status).toBe('processing');
    // The next attempt, with storage back, succeeds.
    const { promise } = runTask(id, { CLOUD_RUN_TASK_ATTEMPT: '2' });
    await expect(promise).resolves.toMatchObject({ exitCode: 0, outcome: 'processed' });
  });

  it('reports the failure and still exits non-zero when storage fails on the final attempt', async () => {
    const { id } = await backend.upload(await makeJpeg(400, 300, 12), 'b.jpg');
    const restore = await breakObject(backend.storeRoot, `originals/${id}`);
    try {
      const { promise } = runTask(id, { CLOUD_RUN_TASK_ATTEMPT: '3' });
      await expect(promise).resolves.toMatchObject({ exitCode: 1, outcome: 'retryable' });
    } finally {
      await restore();
    }
    expect(failedTask(id)).toMatchObject({
      error_code: 'STORAGE_UNAVAILABLE',
      source: 'processor',
    });
    expect((await backend.image(id)).status).toBe('failed');
  });

  it('refuses an original whose bytes no longer match its sha256: retryable, ORIGINAL_MISMATCH on the final attempt', async () => {
    const { id } = await backend.upload(await makeJpeg(400, 300, 13), 'changed.jpg');
    // Another valid JPEG under the same key: only the recorded sha256 can tell.
    await writeFile(join(backend.storeRoot, `originals/${id}`), await makeJpeg(400, 300, 14));
    const early = await runTask(id, { CLOUD_RUN_TASK_ATTEMPT: '1' }).promise;
    expect(early).toMatchObject({ exitCode: 1, outcome: 'retryable' });
    expect(early.error?.code).toBe('ORIGINAL_MISMATCH');
    expect(failedTask(id)).toBeUndefined();
    const { promise } = runTask(id, { CLOUD_RUN_TASK_ATTEMPT: '3' });
    await expect(promise).resolves.toMatchObject({ exitCode: 1, outcome: 'retryable' });
    expect(failedTask(id)).toMatchObject({ error_code: 'ORIGINAL_MISMATCH', source: 'processor' });
    expect((await backend.image(id)).status).toBe('failed');
  });

  /** The backend's job spec for `id`, as the processor reads it. */
  async function jobSpecOf(id: string) {
    const response = await fetch(`${backend.url}/api/processing/${id}`, {
      headers: { authorization: `Bearer ${backend.callbackSecret}` },
    });
    expect(response.status).toBe(200);
    return (await response.json()) as {
      preset: string;
      presets: Record<string, Record<string, Record<string, unknown>>>;
    };
  }

  it('refuses presets with a field it does not know (a newer backend) as VALIDATION_FAILED, naming the field and the deploy order', async () => {
    const { id } = await backend.upload(await makeJpeg(400, 300, 15), 'skew.jpg');
    const spec = await jobSpecOf(id);
    const avif = spec.presets[spec.preset]?.avif;
    expect(avif).toBeDefined();
    // What a backend released with a new preset field sends to a processor without it.
    if (avif) avif.futureField = 1;
    const { promise } = runTask(id, {}, undefined, { jobSpec: spec });
    await expect(promise).resolves.toMatchObject({ exitCode: 0, outcome: 'failed-permanent' });
    const row = failedTask(id);
    expect(row).toMatchObject({ error_code: 'VALIDATION_FAILED', source: 'processor' });
    expect(row?.error_message).toContain(`presets.${spec.preset}.avif`);
    expect(row?.error_message).toContain('futureField');
    expect(row?.error_message).toContain('deploy the processor, then retry the image');
    expect((await backend.image(id)).status).toBe('failed');
  });

  it("refuses presets that do not hash to the job spec's presetVersion as VALIDATION_FAILED", async () => {
    const { id } = await backend.upload(await makeJpeg(400, 300, 16), 'tampered.jpg');
    const spec = await jobSpecOf(id);
    const avif = spec.presets[spec.preset]?.avif;
    // A valid value, but not the one the version was computed from.
    if (avif) avif.quality = Number(avif.quality) + 1;
    const { promise } = runTask(id, {}, undefined, { jobSpec: spec });
    await expect(promise).resolves.toMatchObject({ exitCode: 0, outcome: 'failed-permanent' });
    expect(failedTask(id)?.error_message).toMatch(
      /presets hash to [0-9a-f]{16}, not to its presetVersion/,
    );
  });

  it('exits non-zero without reporting when the backend cannot be reached', async () => {
    const { promise } = runTask('img_aaaaaaaaaaaaaaaaaaaaaaaaaa', {
      BACKEND_API_URL: 'http://127.0.0.1:1',
      CALLBACK_DEADLINE_MS: '300',
      CLOUD_RUN_TASK_ATTEMPT: '3',
    });
    const result = await promise;
    expect(result).toMatchObject({ exitCode: 1, outcome: 'retryable' });
    expect(result.error?.code).toBe('BACKEND_UNAVAILABLE');
  });

  it('exits 0 for an image that was deleted before the task ran', async () => {
    const { id } = await backend.upload(await makeJpeg(400, 300, 13), 'c.jpg');
    const deleted = await backend.adminFetch(`/api/admin/images/${id}`, { method: 'DELETE' });
    expect(deleted.ok, await deleted.clone().text()).toBe(true);
    const { promise } = runTask(id);
    await expect(promise).resolves.toMatchObject({ exitCode: 0, outcome: 'gone' });
    expect(failedTask(id)).toBeUndefined();
  });
});

describe('run() when the image is deleted while it works', () => {
  it('exits 0 and removes the variants it wrote once complete answers 404', async () => {
    const { id } = await backend.upload(await makeJpeg(400, 300, 14), 'd.jpg');
    const real = createFsObjectStore({ root: backend.storeRoot });
    let deleted = false;
    // The real store, with the admin's DELETE landing right after the first variant is written.
    const store: ObjectStore = {
      ...real,
      async put(key, body, options) {
        const info = await real.put(key, body, options);
        if (!deleted && key.startsWith('variants/')) {
          deleted = true;
          const response = await backend.adminFetch(`/api/admin/images/${id}`, {
            method: 'DELETE',
          });
          expect(response.ok, await response.clone().text()).toBe(true);
        }
        return info;
      },
    };
    const config = loadConfig(processorEnv(backend, id, { CALLBACK_DEADLINE_MS: '1500' }));
    const result = await run(config, {
      store,
      credentials: createSharedSecretCredentials(backend.callbackSecret),
      logger: createLogger({ stream: new PassThrough() }),
      signal: new AbortController().signal,
    });
    expect(result).toMatchObject({ exitCode: 0, outcome: 'gone' });
    expect(deleted).toBe(true);
    const left: string[] = [];
    for await (const info of real.list(`variants/${id}/`)) left.push(info.key);
    expect(left).toEqual([]);
    expect(failedTask(id)).toBeUndefined();
  });
});

describe('run() when terminated', () => {
  /** Starts a hanging task, waits until it is mid-work, then aborts it like SIGTERM does. */
  async function terminateMidWork(attempt: string) {
    const { id } = await backend.upload(
      await makeJpeg(400, 300, Number(attempt) + 20),
      `t${attempt}.jpg`,
    );
    const controller = new AbortController();
    const { promise, lines } = runTask(id, { CLOUD_RUN_TASK_ATTEMPT: attempt }, controller.signal, {
      afterStarted: hangUntilTerminated,
    });
    for (let i = 0; i < 200 && !lines.some((l) => String(l.message).includes('hang')); i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    expect((await backend.image(id)).status).toBe('processing');
    controller.abort(new AppError('TIMEOUT', 'processor received SIGTERM', { retryable: true }));
    return { id, result: await promise };
  }

  it('stops and exits 143 without reporting on a non-final attempt', async () => {
    const { id, result } = await terminateMidWork('0');
    expect(result).toMatchObject({ exitCode: 143, outcome: 'terminated' });
    expect(failedTask(id)).toBeUndefined();
  });

  it('reports the failure before exiting 143 on the final attempt', async () => {
    const { id, result } = await terminateMidWork('3');
    expect(result).toMatchObject({ exitCode: 143, outcome: 'terminated' });
    expect(failedTask(id)).toMatchObject({
      source: 'processor',
      attempt_count: expect.any(Number),
    });
    expect((await backend.image(id)).status).toBe('failed');
  });
});
