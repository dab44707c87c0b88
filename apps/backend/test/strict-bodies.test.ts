/**
 * Admin bodies are strict: an unknown field is refused with 400
 * VALIDATION_FAILED naming it, never ignored. Ignored, a misspelt filter
 * widened an action — `{"errorCode":"STUCK"}` (the listing's field name) on
 * the bulk retry retried every failed image, and a `dryRun` on ingest
 * ingested for real.
 */
import { BulkRetryAnswer, CallbackAnswer, ErrorAnswer } from '@slideshow/contracts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  admin,
  callback,
  expectAnswer,
  makeApp,
  makePng,
  type TestApp,
  uploadPng,
} from './helpers.ts';

const json = (body: unknown) => ({
  method: 'POST',
  headers: admin({ 'Content-Type': 'application/json' }),
  body: JSON.stringify(body),
});

/** The 400 for `body` on `path`, whose message names `field`. */
async function refusesField(t: TestApp, path: string, body: unknown, field: string) {
  const answer = await expectAnswer(ErrorAnswer, await t.app.request(path, json(body)), 400);
  expect(answer.error.code).toBe('VALIDATION_FAILED');
  expect(answer.error.message).toContain(`"${field}"`);
}

describe('strict admin bodies', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.cleanup());

  it('refuses a bulk retry with a misspelt filter, and retries nothing', async () => {
    const id = await uploadPng(t);
    await expectAnswer(
      CallbackAnswer,
      await t.app.request(`/api/processing/${id}/failed`, {
        method: 'POST',
        headers: callback(),
        body: JSON.stringify({ generation: 0, code: 'CORRUPT_IMAGE', message: 'bad' }),
      }),
      200,
    );
    await refusesField(t, '/api/admin/failed-tasks/retry', { errorCode: 'X' }, 'errorCode');
    expect(t.repos.images.get(id)?.status).toBe('failed');
    expect(t.repos.failedTasks.get(id)?.resolved_at ?? null).toBeNull();
    // The right field still filters: a code no row has retries nothing.
    const none = await expectAnswer(
      BulkRetryAnswer,
      await t.app.request('/api/admin/failed-tasks/retry', json({ code: 'X' })),
      202,
    );
    expect(none.retried).toEqual([]);
  });

  it('refuses an ingest with a dryRun flag, and ingests nothing', async () => {
    await t.store.put('incoming/a.png', makePng(8, 8, 3), { contentType: 'image/png' });
    await refusesField(
      t,
      '/api/admin/ingest',
      { keys: ['incoming/a.png'], dryRun: true },
      'dryRun',
    );
    expect(t.db.prepare('SELECT count(*) AS n FROM images').get()).toEqual({ n: 0 });
  });

  it('refuses an unknown field when opening an upload session, completing it, and on pause/resume', async () => {
    await refusesField(
      t,
      '/api/admin/upload-sessions',
      { name: 'a.png', size: 10, contentType: 'image/png' },
      'contentType',
    );
    await refusesField(
      t,
      '/api/admin/upload-sessions/img_aaaaaaaaaaaaaaaaaaaaaaaaaa/complete',
      { force: true },
      'force',
    );
    for (const action of ['pause', 'resume']) {
      await refusesField(t, `/api/admin/queues/uploads/${action}`, { force: true }, 'force');
    }
  });
});
