/**
 * The regeneration's stuck timeout asks where a dispatch is before failing it
 * (docs/operations.md, "Presets and regeneration"; regen/lost-dispatches.ts):
 * an item whose task waits in a paused queue, or whose execution is still
 * ACTIVE, is left alone however long, its clock restarted (`alive_at`); only
 * a dispatch that is nowhere fails `STUCK`, with a WARNING line. Before, the
 * worker failed every item older than `stuckAfterMs` without asking: 12 of 30
 * items of a paused queue failed while their tasks were still listed. The
 * real Cloud Tasks and Workflows clients talk to loopback servers speaking
 * those APIs; the real builder over a real SQLite file and folder store.
 */
import type { TaskDispatcher } from '@slideshow/dispatch';
import {
  type FakeCloudTasksServer,
  startFakeCloudTasksServer,
} from '@slideshow/dispatch/testing/fake-cloud-tasks';
import {
  type FakeWorkflowExecutionsServer,
  startFakeWorkflowExecutionsServer,
} from '@slideshow/dispatch/testing/fake-workflow-executions';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { memoryLogger } from './helpers.ts';
import { loopbackDispatcher } from './loopback-dispatcher.ts';
import { type RegenHarness, regenHarness } from './regen-harness.ts';

const MINUTE = 60_000;
const STUCK_AFTER_MS = 90_000;
const PARENT = 'projects/p/locations/l';
const INGEST = `${PARENT}/queues/image-ingest`;

describe('the regeneration stuck timeout, asking Cloud Tasks and the Executions API first', () => {
  let tasks: FakeCloudTasksServer;
  let executions: FakeWorkflowExecutionsServer;
  let dispatcher: TaskDispatcher;
  let h: RegenHarness;
  let logs: Record<string, unknown>[];

  beforeAll(async () => {
    tasks = await startFakeCloudTasksServer();
    executions = await startFakeWorkflowExecutionsServer();
  });
  afterAll(async () => {
    await tasks.close();
    await executions.close();
  });
  beforeEach(async () => {
    tasks.reset();
    executions.reset();
    dispatcher = loopbackDispatcher(tasks.url, executions.url);
    const memory = memoryLogger('INFO');
    logs = memory.lines;
    // REGEN_STUCK_AFTER_MS as the probe shortened it, well below REGEN_LOST_AFTER_MS (15 min).
    h = await regenHarness(
      { stuckAfterMs: STUCK_AFTER_MS, graceMs: 60 * MINUTE },
      {},
      { dispatcher, logger: memory.logger },
    );
  });
  afterEach(async () => {
    await dispatcher.close?.();
    h.t.cleanup();
  });

  const check = () => h.t.backend.services.regen.checkLostDispatches();
  const ingestTasks = () => [...tasks.tasks.keys()].filter((n) => n.startsWith(`${INGEST}/`));

  /** One processed image, its regeneration dispatched and its task created in the ingest queue. */
  async function dispatchOne(): Promise<{ id: string; generation: number; task: string }> {
    const [id] = (await h.processed(1)) as [string];
    await h.start();
    expect((await h.tick()).dispatched).toBe(1);
    const generation = h.items('dispatched')[0]?.generation;
    const [task] = ingestTasks();
    if (generation == null || task === undefined) throw new Error('no regeneration task created');
    return { id, generation, task };
  }

  it('leaves an item whose task waits in a paused queue dispatched past stuckAfterMs, again and again, with no failed_tasks row', async () => {
    const paused = await fetch(`${tasks.url}/v2/${INGEST}:pause`, { method: 'POST' });
    expect(paused.status).toBe(200);
    const { id, generation } = await dispatchOne();

    for (let round = 1; round <= 3; round++) {
      // The worker's pass, then the look-up, each past the timeout since the last sign of life.
      await h.tick(STUCK_AFTER_MS + MINUTE);
      expect(await check(), `round ${round}`).toMatchObject({ waiting: [id], failed: [] });
      expect(h.items()).toEqual([
        { image_id: id, state: 'dispatched', generation, error_code: null },
      ]);
    }
    expect(h.t.repos.failedTasks.get(id)).toBeUndefined();
    expect(ingestTasks()).toHaveLength(1);
    // Its clock restarted at the last look-up.
    const aliveAt = h.t.db
      .prepare<[string], { alive_at: number | null }>(
        'SELECT alive_at FROM regen_items WHERE image_id = ?',
      )
      .get(id)?.alive_at;
    expect(aliveAt).toBe(h.t.clock.now);

    // Resumed and made: the report is applied, not thrown away.
    expect(await h.complete(id, generation)).toMatchObject({ applied: true });
    expect(h.items()).toEqual([{ image_id: id, state: 'done', generation, error_code: null }]);
  });

  it('leaves an item whose execution is still ACTIVE past stuckAfterMs alone', async () => {
    const { id, task } = await dispatchOne();
    // Cloud Tasks delivered the task: it is gone, its execution runs.
    const body = (tasks.tasks.get(task) as unknown as { httpRequest: { body: string } }).httpRequest
      .body;
    const created = await fetch(
      `${executions.url}/v1/${PARENT}/workflows/process-image/executions`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: Buffer.from(body, 'base64'),
      },
    );
    expect(created.status).toBe(200);
    tasks.tasks.delete(task);

    await h.tick(3 * STUCK_AFTER_MS);
    expect(await check()).toMatchObject({ running: [id], failed: [] });
    expect(h.items('dispatched')).toHaveLength(1);
    expect(h.t.repos.failedTasks.get(id)).toBeUndefined();
  });

  it('fails an item whose dispatch is gone (task purged, no execution) past stuckAfterMs, with a WARNING line', async () => {
    const { id, generation, task } = await dispatchOne();
    tasks.tasks.delete(task);
    await h.tick(STUCK_AFTER_MS - 30_000);
    expect(await check()).toMatchObject({ failed: [] });

    await h.tick(MINUTE);
    expect(await check()).toMatchObject({ failed: [id] });
    expect(h.items()).toEqual([{ image_id: id, state: 'failed', generation, error_code: 'STUCK' }]);
    expect(h.t.repos.failedTasks.get(id)).toMatchObject({
      error_code: 'STUCK',
      source: 'regenerate',
    });
    expect(logs).toContainEqual(
      expect.objectContaining({
        severity: 'WARNING',
        message: 'regeneration dispatch ended without a report',
        imageId: id,
        generation,
        executionState: null,
      }),
    );
  });
});
