/**
 * Bulk retry of thousands of failed tasks keeps the server responsive
 * (docs/security.md, "Production backend"): the work is done in batches with
 * the event loop free between them, so a request that arrives meanwhile is
 * answered while the retry is part-way through — observed as a `/status`
 * answer that sees some images retried and others not yet (no timing).
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newImageId } from '../src/ids.ts';
import { admin, expectJson, makeApp, type TestApp } from './helpers.ts';

const FAILED = 5_000;

describe('bulk retry of failed tasks', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeApp();
    const at = new Date(t.clock.now).toISOString();
    t.db.transaction(() => {
      for (let i = 0; i < FAILED; i++) {
        const id = newImageId();
        t.repos.images.insert({
          id,
          original_name: `${i}.png`,
          content_type: 'image/png',
          bytes: 100,
          sha256: createHash('sha256').update(id).digest('hex'),
          source_key: `originals/${id}`,
          priority: 'interactive',
          preset: 'web-v1',
          created_at: at,
          width: 8,
          height: 8,
          format: 'png',
        });
        t.repos.images.markFailed(id, 0, 'JOB_FAILED', null, at);
        t.repos.failedTasks.record({
          imageId: id,
          code: 'JOB_FAILED',
          message: 'killed',
          execution: null,
          source: 'workflow',
          now: at,
        });
      }
    })();
  });
  afterAll(() => t.cleanup());

  it(`answers other requests while it retries ${FAILED} failed tasks, then reports every one`, async () => {
    let done = false;
    const bulk = Promise.resolve(
      t.app.request('/api/admin/failed-tasks/retry', { method: 'POST', headers: admin() }),
    ).finally(() => {
      done = true;
    });
    const seen: number[] = [];
    // Bounded: at most 20,000 probes; each lets the event loop turn (setImmediate) first.
    for (let i = 0; i < 20_000 && !done; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      const status = await expectJson<{ counts: { failed: number } }>(
        await t.app.request('/status'),
        200,
      );
      seen.push(status.counts.failed);
    }
    const body = await expectJson<{ retried: string[]; skipped: unknown[] }>(await bulk, 202);
    expect(body.retried).toHaveLength(FAILED);
    expect(body.skipped).toEqual([]);
    expect(t.repos.images.countsByStatus()).toMatchObject({ failed: 0, queued: FAILED });
    // Some answer came while the retry was part-way through.
    const partWay = seen.filter((n) => n > 0 && n < FAILED);
    expect(partWay.length, `failed counts seen: ${[...new Set(seen)].join(', ')}`).toBeGreaterThan(
      0,
    );
  });
});
