/**
 * The reaper and a throttled queue, end to end (docs/operations.md, "The
 * reaper"): the upload queue dispatches one task every 2 s while the reaper's
 * deadline is 2 s, so most images wait in Cloud Tasks far longer than the
 * deadline. The reaper asks local-cloud (the real @google-cloud/tasks client:
 * `tasks.get`; the Executions API by label) before acting and leaves them
 * alone: every image is processed at its first generation, none is
 * re-dispatched or failed STUCK. (Before it asked, every image queued past
 * the deadline was re-dispatched, and failed STUCK a deadline later.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshStack, openDb, smallPng, upload, waitForTerminal } from './helpers.ts';

type Stack = Awaited<ReturnType<typeof freshStack>>;

const IMAGES = 8;
const RATE = 0.5;
const STUCK_AFTER_MS = 2_000;

describe('the reaper with a throttled upload queue', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await freshStack({
      backendEnv: { STUCK_AFTER_MS: String(STUCK_AFTER_MS), REAPER_INTERVAL_MS: '1000' },
      queueRates: {
        'image-uploads': { maxDispatchesPerSecond: RATE, maxConcurrentDispatches: 1 },
      },
    });
  });
  afterAll(async () => {
    await stack?.dispose();
  });

  it('never re-dispatches or fails an image that is only waiting its turn', async () => {
    const files = await Promise.all(
      Array.from({ length: IMAGES }, async (_, i) => ({
        name: `queued-${i}.png`,
        bytes: await smallPng(i),
      })),
    );
    // IMAGES / RATE = 16 s of queue for a 2 s deadline.
    expect(IMAGES / RATE).toBeGreaterThan((4 * STUCK_AFTER_MS) / 1000);
    const ids = await upload(stack, files);
    const rows = await waitForTerminal(stack, ids, 240_000);
    expect(rows.map((r) => [r.id, r.status, r.generation])).toEqual(
      ids.map((id) => [id, 'processed', 0]),
    );
    const db = openDb(stack);
    try {
      expect(db.prepare('SELECT count(*) AS n FROM failed_tasks').get()).toEqual({ n: 0 });
      expect(db.prepare('SELECT max(reaped_count) AS n FROM images').get()).toEqual({ n: 0 });
    } finally {
      db.close();
    }
    // The reaper did look at them while they waited (the case this test is about).
    const log = readFileSync(join(stack.dataDir, 'logs', 'backend.log'), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { message?: string; waiting?: number });
    const seen = log.filter(
      (l) => l.message === 'reaper: overdue images are still waiting or running',
    );
    expect(
      seen.some((l) => (l.waiting ?? 0) > 0),
      'the reaper saw images waiting in the queue',
    ).toBe(true);
    expect(log.filter((l) => l.message === 'reaper acted on stuck images')).toEqual([]);
  }, 300_000);
});
