/**
 * Admin bodies are strict: an unknown field is refused with 400
 * VALIDATION_FAILED naming it, never ignored. Ignored, a misspelt filter
 * widened an action — `{"errorCode":"STUCK"}` (the listing's field name) on
 * the bulk retry retried every failed image, and a `dryRun` on ingest
 * ingested for real. The JSON login is strict too; the login form and the
 * processing callbacks are not, on purpose (why: `LoginBody` in
 * src/routes/admin-session.ts, the callback bodies in
 * packages/contracts/src/processing.ts): a newer processor's field must reach
 * an older backend during a rollout.
 */
import { BulkRetryAnswer, CallbackAnswer, ErrorAnswer } from '@slideshow/contracts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  admin,
  callback,
  expectAnswer,
  expectJson,
  makeApp,
  makePng,
  PASSWORD,
  sampleResult,
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

describe('the login body', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.cleanup());

  const login = (body: string, type: string) =>
    t.app.request('/api/admin/login', { method: 'POST', headers: { 'Content-Type': type }, body });

  it('refuses a JSON login with an unknown field, the right password too, and spends no budget on it', async () => {
    const asked = await login(
      JSON.stringify({ password: PASSWORD, remember: false }),
      'application/json',
    );
    const refused = await expectAnswer(ErrorAnswer, asked, 400);
    expect(refused.error.code).toBe('VALIDATION_FAILED');
    expect(refused.error.message).toContain('"remember"');
    expect(asked.headers.get('set-cookie')).toBeNull();
    // Seven more (the budget is five wrong passwords): none checked a password.
    for (let i = 0; i < 7; i++) {
      const guess = JSON.stringify({ password: `guess${i}`, remember: false });
      await expectAnswer(ErrorAnswer, await login(guess, 'application/json'), 400);
    }
    await expectJson(await login(JSON.stringify({ password: PASSWORD }), 'application/json'), 200);
  });

  it('takes a login form that holds more than the password: a browser posts what the form holds', async () => {
    const form = new URLSearchParams({ username: 'admin', password: PASSWORD, submit: 'Log in' });
    const answer = await login(form.toString(), 'application/x-www-form-urlencoded');
    await expectJson(answer, 200);
    expect(answer.headers.get('set-cookie')).toMatch(/sid=/);
  });
});

describe('the processing callbacks stay lenient (processor N, backend N±1 in a rollout)', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.cleanup());

  const report = async (id: string, call: string, body: unknown) =>
    expectAnswer(
      CallbackAnswer,
      await t.app.request(`/api/processing/${id}/${call}`, {
        method: 'POST',
        headers: callback(),
        body: JSON.stringify(body),
      }),
      200,
    );

  it('applies started, complete and failed reports that carry fields this backend does not know, at every level', async () => {
    const id = await uploadPng(t, 1);
    const newer = { cpuModel: 'from a newer processor' };
    expect(await report(id, 'started', { generation: 0, attempt: 0, ...newer })).toEqual({
      applied: true,
    });
    const result = sampleResult({ encoder: { avif: 'libaom 3.12' } });
    result.variants = result.variants.map((v) => ({ ...v, ssim: 0.98 }));
    expect(await report(id, 'complete', { generation: 0, result, ...newer })).toEqual({
      applied: true,
    });
    expect(t.repos.images.get(id)?.status).toBe('processed');

    const other = await uploadPng(t, 2);
    const failure = { generation: 0, code: 'CORRUPT_IMAGE', message: 'bad', ...newer };
    expect(await report(other, 'failed', { ...failure, stage: 'decode' })).toEqual({
      applied: true,
    });
    expect(t.repos.images.get(other)?.status).toBe('failed');
  });
});
