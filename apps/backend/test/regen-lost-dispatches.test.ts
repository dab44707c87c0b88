/**
 * A regeneration whose dispatch is over without a report fails promptly
 * (docs/operations.md, "Presets and regeneration"; regen/lost-dispatches.ts):
 * the relay records the key of the dispatch that carries each item, and after
 * `lostAfterMs` the regenerator asks the pipeline where that dispatch is — a
 * task gone and an execution ended or unknown fails the item `STUCK` (the old
 * set still serving); a task still queued, an execution still running or a
 * look-up that fails leave it alone; a report that arrives during the look-up
 * wins. The real builder over a real SQLite file and folder store; the
 * dispatcher is the dry-run one, whose two look-ups answer as each test says.
 */
import { createDryRunDispatcher, type DryRunDispatcher } from '@slideshow/dispatch/dry-run';
import { afterEach, describe, expect, it } from 'vitest';
import type { LostDispatchPass } from '../src/regen/lost-dispatches.ts';
import { memoryLogger } from './helpers.ts';
import { type RegenHarness, regenHarness } from './regen-harness.ts';

const MINUTE = 60_000;
const LOST_AFTER_MS = 15 * MINUTE;
const NONE: LostDispatchPass = { failed: [], waiting: [], running: [], unknown: [] };
const EXECUTIONS = 'projects/p/locations/l/workflows/process-image/executions';

/** What the pipeline says about dispatches, set by each test. */
interface Pipeline {
  dispatcher: DryRunDispatcher;
  /** Keys whose task is still in its queue. */
  queued: Set<string>;
  /** Execution state by dispatch key (absent: no execution found). */
  executions: Map<string, string>;
  /** Thrown by the look-ups while set. */
  error: Error | undefined;
  /** Every look-up made, in order. */
  lookups: string[];
  /** Runs inside the execution look-up, before it answers. */
  during: (() => Promise<unknown>) | undefined;
}

/** A dry-run dispatcher whose `taskState` and `executionState` read the returned state. */
function pipeline(): Pipeline {
  const p: Pipeline = {
    dispatcher: createDryRunDispatcher(),
    queued: new Set(),
    executions: new Map(),
    error: undefined,
    lookups: [],
    during: undefined,
  };
  p.dispatcher.taskState = async (key, queue) => {
    p.lookups.push(`task ${queue} ${key}`);
    if (p.error) throw p.error;
    if (!p.queued.has(key)) return undefined;
    return { name: `tasks/${key}`, dispatchCount: 0, responseCount: 0 };
  };
  p.dispatcher.executionState = async (key) => {
    p.lookups.push(`execution ${key}`);
    if (p.error) throw p.error;
    await p.during?.();
    const state = p.executions.get(key);
    return state === undefined ? undefined : { name: `${EXECUTIONS}/${key}-1`, state };
  };
  return p;
}

describe('regenerations whose dispatch ended without a report', () => {
  let h: RegenHarness | undefined;
  afterEach(() => h?.t.cleanup());

  /** Builds the harness over `p`, processes `n` images and dispatches their regenerations. */
  async function setUp(p: Pipeline, n: number) {
    const memory = memoryLogger('INFO');
    h = await regenHarness(
      { lostAfterMs: LOST_AFTER_MS, graceMs: 60 * MINUTE },
      {},
      { dispatcher: p.dispatcher, logger: memory.logger },
    );
    await h.processed(n);
    const run = await h.start();
    expect((await h.tick()).dispatched).toBe(n);
    // In the order of their items, as a pass takes them.
    const ids = h.items().map((i) => i.image_id);
    const key = p.dispatcher.dispatched.filter((d) => d.queue === 'ingest').at(-1)?.key;
    const generation = h.items('dispatched')[0]?.generation;
    if (key === undefined || generation == null) throw new Error('no regeneration dispatched');
    return { ids, run, key, generation, logs: memory.lines };
  }

  const check = () => h!.t.backend.services.regen.checkLostDispatches();
  const dispatchKey = (id: string) =>
    h!.t.db
      .prepare<[string], { dispatch_key: string | null }>(
        'SELECT dispatch_key FROM regen_items WHERE image_id = ?',
      )
      .get(id)?.dispatch_key;

  it('fails as STUCK, after lostAfterMs, items whose task is gone and whose execution SUCCEEDED without a report, the old set still serving', async () => {
    const p = pipeline();
    const { ids, run, key, generation, logs } = await setUp(p, 2);
    p.executions.set(key, 'SUCCEEDED');

    h!.t.clock.now += LOST_AFTER_MS - MINUTE;
    expect(await check()).toEqual(NONE);
    expect(p.lookups).toEqual([]);

    h!.t.clock.now += 2 * MINUTE;
    expect(await check()).toEqual({ ...NONE, failed: ids });
    // One batch, one look-up of each kind for both its items.
    expect(p.lookups).toEqual([`task ingest ${key}`, `execution ${key}`]);
    expect(h!.items()).toEqual(
      ids.map((id) => ({ image_id: id, state: 'failed', generation, error_code: 'STUCK' })),
    );
    for (const id of ids) {
      expect(h!.t.repos.failedTasks.get(id)).toMatchObject({
        error_code: 'STUCK',
        source: 'regenerate',
      });
      expect(h!.t.repos.failedTasks.get(id)?.error_message).toMatch(
        /its dispatch ended \(workflow execution SUCCEEDED\) without a report/,
      );
      expect(h!.t.repos.images.get(id)).toMatchObject({ status: 'processed', generation: 0 });
    }
    expect(logs).toContainEqual(
      expect.objectContaining({
        severity: 'WARNING',
        message: 'regeneration dispatch ended without a report',
        imageId: ids[0],
        generation,
        dispatchKey: key,
        executionState: 'SUCCEEDED',
      }),
    );
    // The run is no longer held open by them.
    await h!.tick();
    expect(await h!.run(run.id)).toMatchObject({ status: 'done', failed: 2, inFlight: 0 });
  });

  it('fails an item whose task is gone and of which no execution is known', async () => {
    const p = pipeline();
    const { ids, generation } = await setUp(p, 1);
    h!.t.clock.now += LOST_AFTER_MS + MINUTE;
    expect(await check()).toEqual({ ...NONE, failed: ids });
    expect(h!.items()).toEqual([
      { image_id: ids[0], state: 'failed', generation, error_code: 'STUCK' },
    ]);
    expect(h!.t.repos.failedTasks.get(ids[0]!)?.error_message).toMatch(
      /its dispatch ended \(no workflow execution found\) without a report/,
    );
  });

  it('leaves an item alone while its execution is ACTIVE, however long, and fails it once it ended', async () => {
    const p = pipeline();
    const { ids, key } = await setUp(p, 1);
    p.executions.set(key, 'ACTIVE');
    h!.t.clock.now += 5 * LOST_AFTER_MS;
    expect(await check()).toEqual({ ...NONE, running: ids });
    expect(h!.items('dispatched')).toHaveLength(1);
    expect(h!.t.repos.failedTasks.get(ids[0]!)).toBeUndefined();

    p.executions.set(key, 'FAILED');
    expect(await check()).toEqual({ ...NONE, failed: ids });
  });

  it('leaves an item alone while its execution is UNAVAILABLE (or in any state not known to be over), says so at ERROR', async () => {
    const p = pipeline();
    const { ids, key, logs } = await setUp(p, 1);
    h!.t.clock.now += LOST_AFTER_MS + MINUTE;
    for (const state of ['UNAVAILABLE', 'STATE_UNSPECIFIED', 'PAUSED']) {
      p.executions.set(key, state);
      expect(await check()).toEqual({ ...NONE, unknown: ids });
    }
    expect(h!.items('dispatched')).toHaveLength(1);
    expect(h!.t.repos.failedTasks.get(ids[0]!)).toBeUndefined();
    const errors = logs.filter((l) => l.severity === 'ERROR');
    expect(errors).toHaveLength(3);
    expect(errors[0]).toMatchObject({
      message: 'regenerator could not look up dispatches; those items wait for the next pass',
      errors: [expect.stringMatching(/is UNAVAILABLE: not known to be running or over$/)],
    });
  });

  it('leaves an item alone while its task is still in its queue', async () => {
    const p = pipeline();
    const { ids, key } = await setUp(p, 1);
    p.queued.add(key);
    h!.t.clock.now += 5 * LOST_AFTER_MS;
    expect(await check()).toEqual({ ...NONE, waiting: ids });
    expect(p.lookups).toEqual([`task ingest ${key}`]);
    expect(h!.items('dispatched')).toHaveLength(1);
  });

  it('leaves an item alone while a look-up fails, says so once at ERROR, and looks again next pass', async () => {
    const p = pipeline();
    const { ids, logs } = await setUp(p, 2);
    p.error = new Error('Cloud Tasks unreachable');
    h!.t.clock.now += LOST_AFTER_MS + MINUTE;
    expect(await check()).toEqual({ ...NONE, unknown: ids });
    expect(h!.items('dispatched')).toHaveLength(2);
    const errors = logs.filter((l) => l.severity === 'ERROR');
    expect(errors).toEqual([
      expect.objectContaining({
        message: 'regenerator could not look up dispatches; those items wait for the next pass',
        items: 2,
        errors: ['INTERNAL: Cloud Tasks unreachable'],
      }),
    ]);

    p.error = undefined;
    expect(await check()).toEqual({ ...NONE, failed: ids });
  });

  it('lets a report that arrives during the look-up win: the item is done, not failed', async () => {
    const p = pipeline();
    const { ids, key, generation } = await setUp(p, 1);
    const id = ids[0]!;
    p.executions.set(key, 'SUCCEEDED');
    p.during = () => h!.complete(id, generation);
    h!.t.clock.now += LOST_AFTER_MS + MINUTE;
    expect(await check()).toEqual(NONE);
    expect(h!.items()).toEqual([{ image_id: id, state: 'done', generation, error_code: null }]);
    expect(h!.t.repos.failedTasks.get(id)).toBeUndefined();
    expect(h!.t.repos.images.get(id)).toMatchObject({ status: 'processed', generation });
  });

  it('leaves an item whose outbox row is not sent yet alone past stuckAfterMs; one with neither a row nor a key fails', async () => {
    const p = pipeline();
    const memory = memoryLogger('INFO');
    // A day's batch window: the relay holds the ingest rows (nothing here drains it).
    h = await regenHarness(
      { lostAfterMs: LOST_AFTER_MS, stuckAfterMs: 10 * MINUTE, graceMs: 60 * MINUTE },
      { batchWindowMs: 24 * 60 * MINUTE },
      { dispatcher: p.dispatcher, logger: memory.logger },
    );
    const [id] = (await h.processed(1)) as [string];
    await h.start();
    h.t.clock.now += MINUTE;
    expect((await h.t.backend.services.regen.tick()).dispatched).toBe(1);
    expect(h.outboxRows()).toBe(1);
    h.t.clock.now += 60 * MINUTE;
    expect(await check()).toEqual({ ...NONE, waiting: [id] });
    expect(p.lookups).toEqual([]);
    expect(h.items('dispatched')).toHaveLength(1);

    // Its row gone without a send (as a dispatch from before migration 012 has no key either).
    h.t.db.prepare('DELETE FROM outbox').run();
    h.t.clock.now += 11 * MINUTE;
    expect(await check()).toEqual({ ...NONE, failed: [id] });
    expect(h.t.repos.failedTasks.get(id)?.error_message).toMatch(
      /no report 600 s after dispatch, and no dispatch key to look it up by/,
    );
    expect(memory.lines).toContainEqual(
      expect.objectContaining({
        severity: 'WARNING',
        message: 'regeneration dispatch ended without a report',
        imageId: id,
        dispatchKey: null,
      }),
    );
  });

  it('records on each item the key of the dispatch the relay sent it in, and forgets it on a new dispatch', async () => {
    const p = pipeline();
    const { ids, key } = await setUp(p, 2);
    for (const id of ids) expect(dispatchKey(id)).toBe(key);

    // Failed, then taken over by a new run: dispatched again, not yet sent.
    h!.t.clock.now += LOST_AFTER_MS + MINUTE;
    expect((await check()).failed).toEqual(ids);
    await h!.tick(); // ends the first run (nothing left in flight)
    await h!.start();
    h!.t.clock.now += MINUTE;
    expect((await h!.t.backend.services.regen.tick()).dispatched).toBe(2);
    for (const id of ids) expect(dispatchKey(id)).toBeNull();
    await h!.t.relay.drain();
    const next = p.dispatcher.dispatched.filter((d) => d.queue === 'ingest').at(-1)?.key;
    expect(next).not.toBe(key);
    for (const id of ids) expect(dispatchKey(id)).toBe(next);
  });
});
