/**
 * The processor and generations (docs/reliability.md, "Generations"): a task
 * knows the generation its workflow was started for (TARGET_GENERATION, or
 * TARGET_GENERATIONS by task index), stops without touching anything when the
 * image has moved on to another one, and names it in every report. run() in
 * process against a real backend (SQLite file, filesystem store, real sharp).
 */
import { PassThrough } from 'node:stream';
import { startTestBackend, type TestBackend } from '@slideshow/backend/testing';
import { createSharedSecretCredentials } from '@slideshow/callback-auth/shared-secret';
import { createLogger } from '@slideshow/runtime';
import { createFsObjectStore } from '@slideshow/storage/fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { run } from '../src/run.ts';
import { makeJpeg, processorEnv } from './helpers.ts';

let backend: TestBackend;
beforeAll(async () => {
  backend = await startTestBackend();
});
afterAll(async () => {
  await backend?.stop();
});

function runTask(id: string, overrides: Record<string, string>) {
  const config = loadConfig(
    processorEnv(backend, id, { CALLBACK_DEADLINE_MS: '1500', ...overrides }),
  );
  return run(config, {
    store: createFsObjectStore({ root: backend.storeRoot }),
    credentials: createSharedSecretCredentials(backend.callbackSecret),
    logger: createLogger({ stream: new PassThrough().resume() }),
    signal: new AbortController().signal,
  });
}

/** Fails generation 0 and retries the image, so it is at generation 1. */
async function atGenerationOne(id: string) {
  const failed = await fetch(`${backend.url}/api/processing/${id}/failed`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${backend.callbackSecret}`,
      'Content-Type': 'application/json',
    },
    body: JSON.stringify({ generation: 0, code: 'STORAGE_UNAVAILABLE', message: 'x' }),
  });
  expect(failed.status).toBe(200);
  const retry = await backend.adminFetch(`/api/admin/images/${id}/retry`, { method: 'POST' });
  expect(retry.status).toBe(202);
}

const row = (id: string) =>
  backend.db.prepare('SELECT status, generation, attempts FROM images WHERE id = ?').get(id);

describe('a processor task and its generation', () => {
  it('reads TARGET_GENERATION, and TARGET_GENERATIONS by task index', () => {
    const base = processorEnv(backend, 'img-a');
    expect(loadConfig({ ...base, TARGET_GENERATION: '4' }).generation).toBe(4);
    expect(loadConfig(base).generation).toBeUndefined();
    const batch = { ...base, TARGET_FILE_ID: '', TARGET_FILE_IDS: 'a,b,c' };
    expect(
      loadConfig({
        ...batch,
        TARGET_GENERATIONS: '0,5,2',
        CLOUD_RUN_TASK_INDEX: '1',
        CLOUD_RUN_TASK_COUNT: '3',
      }),
    ).toMatchObject({ imageId: 'b', generation: 5 });
    // A task of several images keeps each image's own generation.
    expect(
      loadConfig({
        ...batch,
        TARGET_GENERATIONS: '0,5,2',
        CLOUD_RUN_TASK_INDEX: '0',
        CLOUD_RUN_TASK_COUNT: '2',
      }).images,
    ).toEqual([
      { imageId: 'a', generation: 0 },
      { imageId: 'c', generation: 2 },
    ]);
    expect(() => loadConfig({ ...batch, TARGET_GENERATIONS: '0,5' })).toThrow(
      /TARGET_GENERATIONS: must have one generation per id/,
    );
    expect(() => loadConfig({ ...base, TARGET_GENERATION: '-1' })).toThrow(/TARGET_GENERATION/);
  });

  it('stops at once, changing nothing, when the image has moved on to a newer generation', async () => {
    const { id } = await backend.upload(await makeJpeg(320, 200, 11), 'moved-on.jpg');
    await atGenerationOne(id);
    const before = row(id);
    await expect(runTask(id, { TARGET_GENERATION: '0' })).resolves.toMatchObject({
      exitCode: 0,
      outcome: 'stale',
    });
    expect(row(id)).toEqual(before);
    expect(row(id)).toMatchObject({ status: 'queued', generation: 1, attempts: 0 });
  });

  it('processes the image when the task was started for its current generation', async () => {
    const { id } = await backend.upload(await makeJpeg(320, 200, 12), 'current.jpg');
    await atGenerationOne(id);
    await expect(runTask(id, { TARGET_GENERATION: '1' })).resolves.toMatchObject({
      exitCode: 0,
      outcome: 'processed',
    });
    expect(row(id)).toMatchObject({ status: 'processed', generation: 1 });
  });
});
