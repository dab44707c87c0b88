/**
 * Failure reports and generations (docs/reliability.md, "Generations"): every
 * report names its generation, a report about an older one changes nothing,
 * the dispatch argument carries the generation the workflow will name, and
 * the workflow's backstop never overwrites the processor's more precise
 * report of the same attempt, and a repeated `started` of one attempt counts
 * it once. Through `app.request()` on a real SQLite file.
 */
import { CallbackAnswer, ImageTimelineAnswer } from '@slideshow/contracts';
import { taskNameFor } from '@slideshow/dispatch';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  admin,
  callback,
  expectAnswer,
  expectJson,
  makeApp,
  type TestApp,
  uploadPng,
} from './helpers.ts';
import { expectRefused, snapshotDatabase } from './hostile-callers-checks.ts';

describe('failure reports and generations', () => {
  let t: TestApp;
  let id: string;
  beforeEach(async () => {
    t = await makeApp();
    id = await uploadPng(t, 1);
    await t.relay.drain();
  });
  afterEach(() => t.cleanup());

  const report = (step: string, body: unknown) =>
    t.app.request(`/api/processing/${id}/${step}`, {
      method: 'POST',
      headers: callback(),
      body: JSON.stringify(body),
    });
  const failure = (generation: number, source: string, code: string, message = code) =>
    report('failed', { generation, source, code, message, execution: `${source}/${generation}` });

  it('dispatches each generation with the generation in the workflow argument', async () => {
    await expectJson(await failure(0, 'processor', 'CORRUPT_IMAGE'), 200);
    await expectJson(
      await t.app.request(`/api/admin/images/${id}/retry`, { method: 'POST', headers: admin() }),
      202,
    );
    await t.relay.drain();
    expect(t.dispatcher.dispatched.map((d) => [d.key, d.argument])).toEqual([
      [taskNameFor(id, 0), { file_id: id, generation: 0 }],
      [taskNameFor(id, 1), { file_id: id, generation: 1 }],
    ]);
  });

  it("ignores a late workflow report from generation 0 after a retry, so generation 1's attempt still runs", async () => {
    await expectJson(await report('started', { generation: 0, execution: 'job/0' }), 200);
    await expectJson(await failure(0, 'processor', 'STORAGE_UNAVAILABLE'), 200);
    await expectJson(
      await t.app.request(`/api/admin/images/${id}/retry`, { method: 'POST', headers: admin() }),
      202,
    );
    const before = snapshotDatabase(t);
    // Generation 0's workflow finally gives up and reports, after generation 1 was dispatched.
    await expectRefused(
      await failure(0, 'workflow', 'JOB_FAILED'),
      409,
      'STALE_GENERATION',
      'late workflow report',
    );
    await expectRefused(
      await failure(0, 'processor', 'STORAGE_UNAVAILABLE', 'late again'),
      409,
      'STALE_GENERATION',
      'late processor report',
    );
    expect(snapshotDatabase(t)).toBe(before);
    expect(t.repos.images.get(id)).toMatchObject({ status: 'queued', generation: 1 });
    // Generation 1's attempt is not "already settled": it starts and completes.
    const spec = await expectJson<{ generation: number; status: string }>(
      await t.app.request(`/api/processing/${id}`, { headers: callback() }),
      200,
    );
    expect(spec).toMatchObject({ generation: 1, status: 'queued' });
    await expectJson(await report('started', { generation: 1, execution: 'job/1' }), 200);
    expect(t.repos.images.get(id)?.status).toBe('processing');
  });

  it('counts a started repeated for the same execution and attempt once, and a new attempt of that execution again', async () => {
    // The processor's client retries `started` after a 5xx or a timeout even when the first
    // try committed; Cloud Run's retry of the task is the same execution at attempt 1.
    const execution = 'projects/p/locations/l/jobs/processor/executions/processor-abcde';
    const started = async (attempt: number) =>
      expectAnswer(
        CallbackAnswer,
        await report('started', { generation: 0, execution, attempt }),
        200,
      );
    const startedEvents = async () =>
      (
        await expectAnswer(
          ImageTimelineAnswer,
          await t.app.request(`/api/admin/images/${id}/timeline`, { headers: admin() }),
          200,
        )
      ).events
        .filter((e) => e.kind === 'started')
        .map((e) => [e.generation, e.attempt, e.execution]);

    expect(await started(0)).toEqual({ applied: true });
    expect(await started(0)).toEqual({ applied: false, reason: 'duplicate started' });
    expect(await started(0)).toEqual({ applied: false, reason: 'duplicate started' });
    expect(t.repos.images.get(id)).toMatchObject({ status: 'processing', attempts: 1 });
    expect(await startedEvents()).toEqual([[0, 1, execution]]);

    expect(await started(1)).toEqual({ applied: true });
    expect(t.repos.images.get(id)).toMatchObject({ status: 'processing', attempts: 2 });
    expect(await startedEvents()).toEqual([
      [0, 1, execution],
      [0, 2, execution],
    ]);
    // Attempt 0's started arriving after attempt 1's is no new attempt either.
    expect(await started(0)).toMatchObject({ applied: false });
    expect(t.repos.images.get(id)?.attempts).toBe(2);
  });

  it('refuses a failure report that names no generation, changing nothing', async () => {
    const before = snapshotDatabase(t);
    await expectRefused(
      await report('failed', { code: 'JOB_FAILED', message: 'x', source: 'workflow' }),
      400,
      'VALIDATION_FAILED',
      'no generation',
    );
    expect(snapshotDatabase(t)).toBe(before);
  });

  it("keeps the processor's own final report when the workflow's backstop reports the same attempt", async () => {
    await expectJson(await report('started', { generation: 0, execution: 'job/0' }), 200);
    await expectJson(
      await failure(0, 'processor', 'STORAGE_UNAVAILABLE', 'bucket answered 503 three times'),
      200,
    );
    const backstop = await expectJson<{ applied: boolean; reason: string }>(
      await failure(0, 'workflow', 'JOB_FAILED', 'Task processor-abc-task0 failed: exit code 1'),
      200,
    );
    expect(backstop).toEqual({
      applied: false,
      reason: "the processor's report for generation 0 is kept",
    });
    expect(t.repos.failedTasks.get(id)).toMatchObject({
      error_code: 'STORAGE_UNAVAILABLE',
      error_message: 'bucket answered 503 three times',
      source: 'processor',
      attempt_count: 1,
    });
    expect(t.repos.images.get(id)).toMatchObject({
      status: 'failed',
      last_error_code: 'STORAGE_UNAVAILABLE',
    });
  });

  it("lets the processor's report replace the workflow's for the same attempt, without counting a new attempt", async () => {
    await expectJson(await failure(0, 'workflow', 'TIMEOUT', 'connector timed out'), 200);
    await expectJson(await failure(0, 'processor', 'CORRUPT_IMAGE', 'truncated JPEG'), 200);
    expect(t.repos.failedTasks.get(id)).toMatchObject({
      error_code: 'CORRUPT_IMAGE',
      source: 'processor',
      attempt_count: 1,
    });
  });

  it('counts a new failure of a new generation as another attempt', async () => {
    await expectJson(await failure(0, 'processor', 'STORAGE_UNAVAILABLE'), 200);
    await expectJson(
      await t.app.request(`/api/admin/images/${id}/retry`, { method: 'POST', headers: admin() }),
      202,
    );
    await expectJson(await failure(1, 'workflow', 'JOB_FAILED'), 200);
    expect(t.repos.failedTasks.get(id)).toMatchObject({
      error_code: 'JOB_FAILED',
      source: 'workflow',
      attempt_count: 2,
      resolved_at: null,
    });
  });
});
