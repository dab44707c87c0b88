/**
 * A holder that handed the lease over watches its successor (successor-watch.ts),
 * on the file store. Assertions are about outcomes and order, never durations.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@slideshow/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { createFsLeaseStore } from './fs.ts';
import { createLease, type Lease, type LeaseTiming, type SuccessorOutcome } from './lease.ts';

const dir = mkdtempSync(join(tmpdir(), 'lease-watch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const logger = createLogger({ level: 'ERROR' });
const quick: LeaseTiming = { ttlMs: 600, marginMs: 100, renewEveryMs: 200, pollEveryMs: 25 };
// A renewing successor must stay "alive" on a loaded machine: a stall must pass 1.5 s to matter.
const steady: LeaseTiming = { ttlMs: 3_000, marginMs: 500, renewEveryMs: 1_000, pollEveryMs: 25 };
let n = 0;
const noEvents = { onLost: () => undefined, onHandoverRequested: () => undefined };

/** Two leases on one fresh store: `old` of revision rev-1 holding, `next` of rev-2. */
async function handedOver(timing: LeaseTiming) {
  const path = join(dir, `lease-${n++}.db`);
  const make = (owner: string, revision: string): Lease =>
    createLease({ store: createFsLeaseStore({ path }), owner, revision, timing, logger });
  const old = make('old', 'rev-1');
  await old.acquire({ timeoutMs: 1_000, requestHandover: true });
  old.startRenewing(noEvents);
  await old.release();
  return { path, old, next: make('next', 'rev-2'), make };
}

/** The watch's outcome so far (undefined while it runs). */
function watching(lease: Lease) {
  const controller = new AbortController();
  let outcome: SuccessorOutcome | undefined;
  const done = lease.watchSuccessor({ signal: controller.signal }).then((o) => {
    outcome = o;
    return o;
  });
  return { done, outcome: () => outcome, stop: () => controller.abort() };
}

describe('a retired holder watching its successor', () => {
  it('leaves a successor that renews alone however long it takes, and ends once it serves', async () => {
    const { old, next } = await handedOver(steady);
    const watch = watching(old);
    await next.acquire({ timeoutMs: 1_000, requestHandover: true });
    next.startRenewing(noEvents);
    // Longer than TTL + margin: a successor that stopped renewing would be reported by now.
    await new Promise((r) => setTimeout(r, 4_500));
    expect(watch.outcome()).toBeUndefined();
    await next.markServing();
    expect(await watch.done).toEqual({
      outcome: 'served',
      holder: 'next',
      revision: 'rev-2',
      epoch: 2,
    });
    await next.release();
  });

  it('reports a successor that released the lease before it served', async () => {
    const { old, next } = await handedOver(quick);
    const watch = watching(old);
    await next.acquire({ timeoutMs: 1_000, requestHandover: true });
    next.startRenewing(noEvents);
    await next.release();
    expect(await watch.done).toMatchObject({ outcome: 'abandoned', how: 'released', epoch: 2 });
  });

  it('reports a successor that stopped renewing, and releases its record so the next instance takes it at once', async () => {
    const { old, next, make } = await handedOver(quick);
    const watch = watching(old);
    await next.acquire({ timeoutMs: 1_000, requestHandover: true });
    next.abandon(); // it died: no renewal, no release
    expect(await watch.done).toEqual({
      outcome: 'abandoned',
      how: 'expired',
      holder: 'next',
      epoch: 2,
    });
    const fresh = make('fresh', 'rev-1');
    // Released, not expired: no TTL to wait out again; the epochs go on.
    expect(await fresh.acquire({ timeoutMs: 1_000, requestHandover: true })).toMatchObject({
      how: 'released',
      epoch: 3,
      previousEpoch: 2,
    });
    await fresh.release();
  });

  it('reports a requester that never took the released lease', async () => {
    const { old } = await handedOver(quick);
    expect(await watching(old).done).toEqual({
      outcome: 'abandoned',
      how: 'not-taken',
      holder: null,
      epoch: 1,
    });
  });

  it('releases again a record its own release left behind (a write raced it), and never reports a healthy successor', async () => {
    const path = join(dir, `lease-${n++}.db`);
    const make = (owner: string, revision: string): Lease =>
      createLease({ store: createFsLeaseStore({ path }), owner, revision, timing: steady, logger });
    const old = make('old', 'rev-1');
    await old.acquire({ timeoutMs: 1_000, requestHandover: true });
    // Another process writes the record between the holder's last read and its release (a
    // second deploy's handover request): the release meets CONFLICT and the record still
    // names `old` as holder.
    const other = createFsLeaseStore({ path });
    const seen = await other.read();
    if (!seen) throw new Error('no record');
    await other.write({ ...seen.record, writtenAt: new Date().toISOString() }, seen.generation);
    await old.release();
    expect((await other.read())?.record.holder?.owner).toBe('old');

    const watch = watching(old);
    const next = make('next', 'rev-2');
    // Released again by the watch, the record is taken at once, not after its TTL.
    expect(await next.acquire({ timeoutMs: 5_000, requestHandover: true })).toMatchObject({
      how: 'released',
      epoch: 2,
    });
    next.startRenewing(noEvents);
    await next.markServing();
    expect(await watch.done).toMatchObject({ outcome: 'served', holder: 'next' });
    await next.release();
    await other.close();
  });

  it('keeps the serving mark through renewals and clears it on release', async () => {
    const { path, next, old } = await handedOver(steady);
    await next.acquire({ timeoutMs: 1_000, requestHandover: true });
    next.startRenewing(noEvents);
    await next.markServing();
    const store = createFsLeaseStore({ path });
    const marked = await store.read();
    expect(marked?.record.servingSince).toEqual(expect.any(String));
    // After the next renewal the mark is still there (renewals carry it).
    let renewed = await store.read();
    for (let i = 0; i < 400 && renewed?.generation === marked?.generation; i++) {
      await new Promise((r) => setTimeout(r, 25));
      renewed = await store.read();
    }
    expect(renewed?.generation).not.toBe(marked?.generation);
    expect(renewed?.record.servingSince).toBe(marked?.record.servingSince);
    await next.release();
    expect((await store.read())?.record).toMatchObject({ holder: null, servingSince: null });
    // A watch that starts after a served successor released sees a later epoch with no holder.
    expect(await watching(old).done).toMatchObject({ outcome: 'abandoned', how: 'released' });
    await store.close();
  });

  it('refuses to watch while it holds the lease, and stops when its signal aborts', async () => {
    const { next, old } = await handedOver(steady);
    await next.acquire({ timeoutMs: 1_000, requestHandover: true });
    next.startRenewing(noEvents);
    await expect(next.watchSuccessor()).rejects.toMatchObject({ code: 'CONFLICT' });
    const watch = watching(old);
    watch.stop();
    await expect(watch.done).rejects.toBeDefined();
    await next.release();
  });
});
