/**
 * The bundled processor (dist/processor.mjs) spawned as a child process, the
 * way local-cloud and Cloud Run run it, against a real backend on loopback
 * with a real SQLite file and the filesystem store.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestBackend, type TestBackend } from '@slideshow/backend/testing';
import type { Variant } from '@slideshow/contracts';
import { DEFAULT_PRESET } from '@slideshow/imaging';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  breakObject,
  failedTaskRow,
  faultEntryPath,
  makeJpeg,
  makeTruncatedJpeg,
  processorEnv,
  spawnProcessor,
} from './helpers.ts';

let backend: TestBackend;

beforeAll(async () => {
  backend = await startTestBackend();
});

afterAll(async () => {
  await backend?.stop();
});

const failedTask = (id: string) => failedTaskRow(backend, id);
const imageRow = (id: string) =>
  backend.db.prepare('SELECT * FROM images WHERE id = ?').get(id) as Record<string, unknown>;

const env = (id: string, overrides: Record<string, string> = {}) =>
  processorEnv(backend, id, overrides);

describe('the bundled processor', () => {
  let processedId: string;

  it('processes an image, logs JSON lines with severity and ids, and exits 0', async () => {
    ({ id: processedId } = await backend.upload(await makeJpeg(640, 400, 31), 'a.jpg'));
    const result = await spawnProcessor(env(processedId)).done;
    expect(result.code, result.stderr).toBe(0);
    expect((await backend.image(processedId)).status).toBe('processed');
    const finished = result.logs.find((l) => l.message === 'processor finished');
    expect(finished).toMatchObject({
      severity: 'INFO',
      imageId: processedId,
      execution: 'processor-test-exec',
      attempt: 0,
      outcome: 'processed',
      exitCode: 0,
    });
    expect(result.stderr).not.toContain(backend.callbackSecret);
  });

  it('generates no code from strings while it processes an image', async () => {
    // zod's per-schema compiled parser (`new Function`) cost a one-task process 15–35 ms of CPU
    // (apps/processor/README.md, "Start-up"); main.ts turns it off. A preload counts each one.
    const dir = await mkdtemp(join(tmpdir(), 'processor-codegen-'));
    try {
      const preload = join(dir, 'count-codegen.mjs');
      await writeFile(
        preload,
        [
          "import { writeSync } from 'node:fs';",
          'const Original = Function;',
          'const line = JSON.stringify({ severity: "DEBUG", message: "code from a string" });',
          'const report = () => writeSync(2, line + "\\n");',
          'globalThis.Function = new Proxy(Original, {',
          '  construct(target, args, newTarget) { report(); return Reflect.construct(target, args, newTarget); },',
          '  apply(target, self, args) { report(); return Reflect.apply(target, self, args); },',
          '});',
        ].join('\n'),
      );
      const { id } = await backend.upload(await makeJpeg(480, 320, 37), 'codegen.jpg');
      const result = await spawnProcessor({ ...env(id), NODE_OPTIONS: `--import=${preload}` }).done;
      expect(result.code, result.stderr).toBe(0);
      expect((await backend.image(id)).status).toBe('processed');
      expect(result.logs.filter((l) => l.message === 'code from a string')).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('changes neither variants nor the image row when the task is delivered again', async () => {
    const variants = JSON.parse(String(imageRow(processedId).variants)) as Variant[];
    const files = variants.map((v) =>
      join(backend.storeRoot, `variants/${processedId}/${DEFAULT_PRESET}/g0/${v.suffix}`),
    );
    const mtimes = await Promise.all(files.map((f) => stat(f).then((s) => s.mtimeMs)));
    const rowBefore = imageRow(processedId);
    const result = await spawnProcessor(env(processedId, { CLOUD_RUN_EXECUTION: 'dup' })).done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.logs.find((l) => l.message === 'processor finished')?.outcome).toBe(
      'already-done',
    );
    expect(await Promise.all(files.map((f) => stat(f).then((s) => s.mtimeMs)))).toEqual(mtimes);
    expect(imageRow(processedId)).toEqual(rowBefore);
  });

  it('records a corrupt image in failed_tasks and exits 0', async () => {
    const { id } = await backend.upload(await makeTruncatedJpeg(32), 'cut.jpg');
    const result = await spawnProcessor(env(id)).done;
    expect(result.code, result.stderr).toBe(0);
    expect(failedTask(id)).toMatchObject({ error_code: 'CORRUPT_IMAGE', source: 'processor' });
  });

  it('exits 1 and leaves no failed_tasks row when the backend is down on attempt 0', async () => {
    const { id } = await backend.upload(await makeJpeg(320, 200, 33), 'b.jpg');
    const result = await spawnProcessor(
      env(id, { BACKEND_API_URL: 'http://127.0.0.1:1', CALLBACK_DEADLINE_MS: '300' }),
    ).done;
    expect(result.code, result.stderr).toBe(1);
    expect(failedTask(id)).toBeUndefined();
  });

  it('reports a storage failure on the final attempt and still exits 1', async () => {
    const { id } = await backend.upload(await makeJpeg(320, 200, 34), 'c.jpg');
    const restore = await breakObject(backend.storeRoot, `originals/${id}`);
    try {
      const result = await spawnProcessor(env(id, { CLOUD_RUN_TASK_ATTEMPT: '3' })).done;
      expect(result.code, result.stderr).toBe(1);
    } finally {
      await restore();
    }
    expect(failedTask(id)).toMatchObject({
      error_code: 'STORAGE_UNAVAILABLE',
      source: 'processor',
    });
  });

  it('reports a full disk as STORAGE_FULL on the final attempt and still exits 1', async () => {
    const { id } = await backend.upload(await makeJpeg(640, 400, 35), 'full.jpg');
    // A real write failure: every file the process writes may hold one block, so the first
    // variant's write(2) fails with EFBIG (Node ignores the SIGXFSZ that comes with it).
    const result = await spawnProcessor(env(id, { CLOUD_RUN_TASK_ATTEMPT: '3' }), {
      fileSizeLimitBlocks: 1,
    }).done;
    expect(result.code, result.stderr).toBe(1);
    expect(failedTask(id)).toMatchObject({ error_code: 'STORAGE_FULL', source: 'processor' });
  });

  it('processes only the image at its task index in batch mode', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await backend.upload(await makeJpeg(320, 200, 40 + i), `${i}.jpg`)).id);
    const result = await spawnProcessor({
      ...env('unused', { CLOUD_RUN_TASK_INDEX: '1', CLOUD_RUN_TASK_COUNT: '3' }),
      TARGET_FILE_ID: '',
      TARGET_FILE_IDS: ids.join(','),
    }).done;
    expect(result.code, result.stderr).toBe(0);
    const statuses = await Promise.all(ids.map(async (id) => (await backend.image(id)).status));
    expect(statuses[1]).toBe('processed');
    expect(statuses[0]).not.toBe('processed');
    expect(statuses[2]).not.toBe('processed');
  });
});

// PROCESSOR_FAULT lives only in the test-only entry (src/main-with-faults.ts, main.ts with
// fault hooks); the bundle has no fault switch (test/bundle.test.ts).
describe('the processor on SIGTERM and SIGINT (through the fault entry)', () => {
  /** Stops a task mid-work with `signal`, or (`stdin`) by closing the stdin local-cloud holds. */
  async function terminate(attempt: string, signal: 'SIGTERM' | 'SIGINT' | 'stdin' = 'SIGTERM') {
    const { id } = await backend.upload(
      // Distinct bytes per call: the same bytes again would be a duplicate of a settled image.
      await makeJpeg(
        320,
        200,
        50 + Number(attempt) + { SIGTERM: 0, SIGINT: 10, stdin: 20 }[signal],
      ),
      `s${attempt}-${signal}.jpg`,
    );
    const lifeline = signal === 'stdin';
    const child = spawnProcessor(
      env(id, {
        PROCESSOR_FAULT: 'hang',
        CLOUD_RUN_TASK_ATTEMPT: attempt,
        ...(lifeline ? { STOP_WHEN_STDIN_CLOSES: '1' } : {}),
      }),
      {
        script: faultEntryPath,
        // Cloud Run's grace: SIGKILL 10 s after SIGTERM. A SIGKILL here fails the test.
        killAfterMs: 30_000,
        ...(lifeline ? { stdin: 'pipe' as const } : {}),
      },
    );
    await child.waitForLog((l) => String(l.message).startsWith('PROCESSOR_FAULT=hang'));
    if (lifeline) child.child.stdin?.end();
    else child.child.kill(signal);
    return { id, result: await child.done };
  }

  it('stops mid-work and exits 143 by itself without reporting on attempt 0', async () => {
    const { id, result } = await terminate('0');
    expect(result.signal).toBeNull();
    expect(result.code, result.stderr).toBe(143);
    expect(failedTask(id)).toBeUndefined();
  });

  it('reports the failure before exiting 143 on the final attempt', async () => {
    const { id, result } = await terminate('3');
    expect(result.code, result.stderr).toBe(143);
    expect(failedTask(id)).toMatchObject({ error_code: 'TIMEOUT', source: 'processor' });
  });

  // SIGINT is a shutdown of the local stack (Ctrl-C, local-cloud stopping), never Cloud Run's.
  it('on SIGINT exits 143 with no ERROR line and no report, even on the final attempt', async () => {
    const { id, result } = await terminate('3', 'SIGINT');
    expect(result.code, result.stderr).toBe(143);
    expect(result.logs.filter((l) => l.severity === 'ERROR')).toEqual([]);
    const stopped = result.logs.find(
      (l) =>
        l.message ===
        'stopped by shutdown (SIGINT); its image is processed again on the next start',
    );
    // The line names the signal; TIMEOUT is the code of a SIGTERM's report, not of a shutdown.
    expect(stopped).toMatchObject({ severity: 'WARNING', signal: 'SIGINT' });
    expect(stopped).not.toHaveProperty('code');
    expect(failedTask(id)).toBeUndefined();
  });

  // local-cloud killed hard (SIGKILL) sends no SIGINT: the stdin it held ends instead.
  it('with STOP_WHEN_STDIN_CLOSES=1, stops as on SIGINT when its stdin ends', async () => {
    const { id, result } = await terminate('3', 'stdin');
    expect(result.signal).toBeNull();
    expect(result.code, result.stderr).toBe(143);
    expect(result.logs.find((l) => l.message === 'received signal; stopping')).toMatchObject({
      signal: 'SIGINT',
      why: 'stdin closed: local-cloud is gone',
    });
    expect(result.logs.filter((l) => l.severity === 'ERROR')).toEqual([]);
    expect(failedTask(id)).toBeUndefined();
  });
});

describe('the bundled processor misconfigured', () => {
  it('exits 2 and names every bad variable', async () => {
    const result = await spawnProcessor({ BACKEND_API_URL: 'nope', MAX_RETRIES: 'x' }).done;
    expect(result.code).toBe(2);
    const line = result.logs.find((l) => l.message === 'invalid configuration');
    expect(line?.severity).toBe('ERROR');
    expect(result.stderr).toContain('BACKEND_API_URL');
    expect(result.stderr).toContain('MAX_RETRIES');
    expect(result.stderr).toContain('TARGET_FILE_ID');
  });

  it('ignores PROCESSOR_FAULT: the bundle has no fault switch', async () => {
    const result = await spawnProcessor(
      env('img_aaaaaaaaaaaaaaaaaaaaaaaaaa', { PROCESSOR_FAULT: 'crash' }),
    ).done;
    expect(result.signal).toBeNull();
    expect(result.logs.some((l) => l.message === 'processor finished')).toBe(true);
  });
});

describe('the fault entry (src/main-with-faults.ts)', () => {
  it('refuses an unknown PROCESSOR_FAULT with exit 2, naming it', async () => {
    const result = await spawnProcessor(
      env('img_aaaaaaaaaaaaaaaaaaaaaaaaaa', { PROCESSOR_FAULT: 'explode' }),
      { script: faultEntryPath },
    ).done;
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('PROCESSOR_FAULT');
  });

  it('crashes with exit 1 before any work under PROCESSOR_FAULT=crash', async () => {
    const result = await spawnProcessor(
      env('img_aaaaaaaaaaaaaaaaaaaaaaaaaa', { PROCESSOR_FAULT: 'crash' }),
      { script: faultEntryPath },
    ).done;
    expect(result.code).toBe(1);
  });

  it('dies by SIGKILL under PROCESSOR_FAULT=sigkill', async () => {
    const result = await spawnProcessor(
      env('img_aaaaaaaaaaaaaaaaaaaaaaaaaa', { PROCESSOR_FAULT: 'sigkill' }),
      { script: faultEntryPath },
    ).done;
    expect(result.signal).toBe('SIGKILL');
  });

  it('aborts like an out-of-memory process under PROCESSOR_FAULT=oom', async () => {
    // SIGABRT may leave a core file in the working directory: use a throwaway one.
    const cwd = await mkdtemp(join(tmpdir(), 'processor-oom-'));
    try {
      const result = await spawnProcessor(
        env('img_aaaaaaaaaaaaaaaaaaaaaaaaaa', { PROCESSOR_FAULT: 'oom' }),
        { cwd, script: faultEntryPath },
      ).done;
      expect(result.signal).toBe('SIGABRT');
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });
});
