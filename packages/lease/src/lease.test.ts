/**
 * The lease state machine on the file store (the same code runs on Cloud
 * Storage: gcs.test.ts proves the store behaves the same). Timings are short
 * so the suite is quick; assertions are about order and outcome, never about
 * how long something took.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError, coerceError, createLogger } from '@slideshow/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { createFsLeaseStore } from './fs.ts';
import { createLease, type HolderEvents, type Lease, type LeaseOptions } from './lease.ts';
import type { LeaseRecord, LeaseStore } from './lease-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'lease-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const logger = createLogger({ level: 'ERROR' });
const timing = { ttlMs: 600, marginMs: 100, renewEveryMs: 200, pollEveryMs: 25 };
/**
 * For every test where a renewing holder must keep the lease: with the short
 * timing above, a process stalled for 300–500 ms (a loaded 2-core machine; the
 * file store's synchronous fsync under another suite's disk writes) lets a
 * contender take over or the holder stop trusting itself, which says nothing
 * about the code. Here a stall must pass 1.5 s to do that. The short timing
 * stays for tests whose point is an expiry.
 */
const steady = { ttlMs: 3_000, marginMs: 500, renewEveryMs: 1_000, pollEveryMs: 25 };
let n = 0;
const storePath = () => join(dir, `lease-${n++}.db`);

function lease(path: string, owner: string, extra: Partial<LeaseOptions> = {}): Lease {
  return createLease({
    store: createFsLeaseStore({ path }),
    owner,
    revision: 'rev-1',
    timing,
    logger,
    ...extra,
  });
}

function recorder() {
  const seen: string[] = [];
  const events: HolderEvents = {
    onLost: (reason) => seen.push(`lost:${reason}`),
    onHandoverRequested: (by) => seen.push(`handover:${by.owner}`),
  };
  return { seen, events };
}

const until = async (condition: () => boolean, what: string) => {
  for (let i = 0; !condition(); i++) {
    if (i > 400) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe('the single-writer lease', () => {
  it('gives the lease to the first process and keeps a renewing holder against a contender', async () => {
    const path = storePath();
    const a = lease(path, 'a', { timing: steady });
    const b = lease(path, 'b', { timing: steady });
    expect(await a.acquire({ timeoutMs: 1_000, requestHandover: false })).toMatchObject({
      epoch: 1,
      previousEpoch: 0,
      how: 'created',
    });
    a.startRenewing(recorder().events);
    // Longer than the TTL: without renewals the contender would take over.
    await expect(b.acquire({ timeoutMs: 4_000, requestHandover: false })).rejects.toMatchObject({
      code: 'LEASE_NOT_HELD',
      retryable: true,
    });
    expect(a.isHeld()).toBe(true);
    expect(b.isHeld()).toBe(false);
    await a.release();
  });

  it('lets exactly one of several simultaneous contenders win', async () => {
    const path = storePath();
    const contenders = ['a', 'b', 'c', 'd'].map((owner) => lease(path, owner, { timing: steady }));
    // Shorter than the TTL (nobody renews here, so a loser could otherwise take over later).
    const outcomes = await Promise.allSettled(
      contenders.map((l) => l.acquire({ timeoutMs: 2_000, requestHandover: false })),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(contenders.filter((l) => l.isHeld())).toHaveLength(1);
    for (const l of contenders) await l.release();
  });

  it('hands over at once after a release, with the next epoch', async () => {
    const path = storePath();
    const a = lease(path, 'a', { timing: steady });
    const b = lease(path, 'b', { timing: steady });
    await a.acquire({ timeoutMs: 1_000, requestHandover: false });
    a.startRenewing(recorder().events);
    const waiting = b.acquire({ timeoutMs: 5_000, requestHandover: false });
    await a.release();
    expect(a.isHeld()).toBe(false);
    expect(await waiting).toMatchObject({ epoch: 2, previousEpoch: 1, how: 'released' });
  });

  it('takes over a holder that stopped renewing only after the holder stopped counting itself valid', async () => {
    const path = storePath();
    const real = createFsLeaseStore({ path });
    let frozen = false;
    // A holder frozen mid-flight (as a kill -9 or a paused VM looks from outside): writes never land.
    const freezable: LeaseStore = {
      read: () => real.read(),
      write: (record, generation) =>
        frozen ? new Promise<string>(() => {}) : real.write(record, generation),
      close: () => real.close(),
    };
    const a = createLease({ store: freezable, owner: 'a', revision: null, timing, logger });
    const b = lease(path, 'b');
    await a.acquire({ timeoutMs: 1_000, requestHandover: false });
    a.startRenewing(recorder().events);
    frozen = true;
    const acquired = await b.acquire({ timeoutMs: 5_000, requestHandover: false });
    // At the moment the contender holds the lease, the old holder refuses writes.
    expect(a.isHeld()).toBe(false);
    expect(acquired).toMatchObject({ epoch: 2, previousEpoch: 1, how: 'expired' });
    a.abandon();
    await b.release();
  });

  it('fences a holder whose renewals fail before a contender can take over, even when no timer fires', async () => {
    const path = storePath();
    let failWrites = false;
    const real = createFsLeaseStore({ path });
    const flaky: LeaseStore = {
      read: () => real.read(),
      write: (record, generation) =>
        failWrites
          ? Promise.reject(Object.assign(new Error('network down'), { code: 'ECONNRESET' }))
          : real.write(record, generation),
      close: () => real.close(),
    };
    // The holder's monotonic clock is driven by hand: its timers never matter for the fence.
    let clock = 0;
    const a = createLease({
      store: flaky,
      owner: 'a',
      revision: null,
      timing,
      logger,
      now: () => clock,
    });
    await a.acquire({ timeoutMs: 1_000, requestHandover: false });
    const { seen, events } = recorder();
    a.startRenewing(events);
    failWrites = true;
    clock = timing.ttlMs - timing.marginMs - 1;
    expect(a.isHeld()).toBe(true);
    clock = timing.ttlMs - timing.marginMs;
    expect(a.isHeld()).toBe(false);
    expect(() => a.assertHeld()).toThrow(/could not renew/);
    await until(() => seen.includes('lost:expired'), 'the loss to be reported');
    a.abandon();
  });

  it('notices at its next renewal that another process replaced the lease and reports it superseded', async () => {
    const path = storePath();
    const a = lease(path, 'a', { timing: steady });
    await a.acquire({ timeoutMs: 1_000, requestHandover: false });
    const { seen, events } = recorder();
    a.startRenewing(events);
    // An operator (or a takeover while this process was frozen) rewrites the record.
    const other = createFsLeaseStore({ path });
    const current = await other.read();
    await other.write(
      { ...current!.record, epoch: 7, holder: { owner: 'z', revision: null, since: 'now' } },
      current!.generation,
    );
    await until(() => seen.includes('lost:superseded'), 'the holder to notice');
    expect(a.isHeld()).toBe(false);
    await other.close();
  });

  it('asks a holder of another revision to hand over, and the holder is told once', async () => {
    const path = storePath();
    const a = lease(path, 'a', { revision: 'backend-00001', timing: steady });
    const b = lease(path, 'b', { revision: 'backend-00002', timing: steady });
    await a.acquire({ timeoutMs: 1_000, requestHandover: true });
    const { seen, events } = recorder();
    a.startRenewing({
      ...events,
      onHandoverRequested: (by) => {
        events.onHandoverRequested(by);
        void a.release();
      },
    });
    const acquired = await b.acquire({ timeoutMs: 5_000, requestHandover: true });
    expect(acquired).toMatchObject({ epoch: 2, how: 'released' });
    expect(seen).toEqual(['handover:b']);
  });

  it('never asks a holder of the same revision to hand over (a second instance waits)', async () => {
    const path = storePath();
    const a = lease(path, 'a', { revision: 'backend-00001', timing: steady });
    const b = lease(path, 'b', { revision: 'backend-00001', timing: steady });
    await a.acquire({ timeoutMs: 1_000, requestHandover: true });
    const { seen, events } = recorder();
    a.startRenewing(events);
    // Long enough for the holder's next renewal (which is when it would see a request), and
    // under the TTL (no takeover).
    await expect(b.acquire({ timeoutMs: 2_000, requestHandover: true })).rejects.toMatchObject({
      code: 'LEASE_NOT_HELD',
    });
    expect(seen).toEqual([]);
    await a.release();
  });

  it('ignores wall-clock skew: a contender whose clock runs an hour ahead still waits for the holder', async () => {
    const path = storePath();
    const a = lease(path, 'a', {
      wallClock: () => new Date(Date.now() - 3_600_000),
      timing: steady,
    });
    const b = lease(path, 'b', {
      wallClock: () => new Date(Date.now() + 3_600_000),
      timing: steady,
    });
    await a.acquire({ timeoutMs: 1_000, requestHandover: false });
    a.startRenewing(recorder().events);
    await expect(b.acquire({ timeoutMs: 4_000, requestHandover: false })).rejects.toMatchObject({
      code: 'LEASE_NOT_HELD',
    });
    expect(a.isHeld()).toBe(true);
    await a.release();
  });

  it('recognises its own acquisition when the reply was lost and the retry answered CONFLICT', async () => {
    const path = storePath();
    const real = createFsLeaseStore({ path });
    let first = true;
    const lossy: LeaseStore = {
      read: () => real.read(),
      write: async (record, generation) => {
        const written = await real.write(record, generation);
        if (!first) return written;
        first = false;
        throw new AppError(
          'CONFLICT',
          'precondition failed (a client retry of a write that landed)',
        );
      },
      close: () => real.close(),
    };
    const a = createLease({ store: lossy, owner: 'a', revision: null, timing, logger });
    expect(await a.acquire({ timeoutMs: 1_000, requestHandover: false })).toMatchObject({
      epoch: 1,
    });
    expect(a.isHeld()).toBe(true);
    a.abandon();
  });

  it('raises its epoch above one recorded in the database (a lease object deleted by hand)', async () => {
    const path = storePath();
    const a = lease(path, 'a');
    await a.acquire({ timeoutMs: 1_000, requestHandover: false });
    expect(await a.raiseEpoch(42)).toBe(42);
    expect((await createFsLeaseStore({ path }).read())?.record.epoch).toBe(42);
    await a.release();
    const b = lease(path, 'b');
    expect(await b.acquire({ timeoutMs: 1_000, requestHandover: false })).toMatchObject({
      epoch: 43,
    });
    await b.release();
  });

  it('keeps a raised epoch when a renewal of its own crossed the raise', async () => {
    const path = storePath();
    const real = createFsLeaseStore({ path });
    // Holds the next renewal's write (a record still at epoch 1) until the raise has landed;
    // `landed` has the epoch of every write that landed, in order.
    let holding = false;
    let held: (() => void) | undefined;
    const landed: number[] = [];
    const gated: LeaseStore = {
      read: () => real.read(),
      write: async (record, generation) => {
        if (holding && record.epoch === 1) {
          holding = false;
          await new Promise<void>((resolve) => {
            held = resolve;
          });
        }
        const written = await real.write(record, generation);
        landed.push(record.epoch);
        return written;
      },
      close: () => real.close(),
    };
    const a = createLease({ store: gated, owner: 'a', revision: null, timing: steady, logger });
    await a.acquire({ timeoutMs: 1_000, requestHandover: false });
    const { seen, events } = recorder();
    holding = true;
    a.startRenewing(events);
    await until(() => held !== undefined, 'a renewal in flight');
    expect(await a.raiseEpoch(42)).toBe(42);
    const before = landed.length;
    held?.();
    // The renewal answers CONFLICT (the raise changed the generation), finds the record still
    // its own and writes again: built from the raised record, not from the one it started with.
    await until(() => landed.length > before, 'the crossed renewal to land');
    expect(landed.slice(before).every((epoch) => epoch === 42)).toBe(true);
    expect((await real.read())?.record.epoch).toBe(42);
    expect(a.epoch()).toBe(42);
    expect(seen).toEqual([]);
    await a.release();
  });

  it("makes the same requests and logs the same lines, in order, over two holders' lives", async () => {
    const path = storePath();
    // Slow renewals (every 1 s) so that no renewal slips in between the steps below.
    const slow = { ttlMs: 3_000, marginMs: 500, renewEveryMs: 1_000, pollEveryMs: 25 };
    const trace: string[] = [];
    const summary = (record: LeaseRecord) =>
      `epoch ${record.epoch}, holder ${record.holder?.owner ?? 'none'}, handover ${record.handover?.owner ?? 'none'}`;
    const traced = (name: string): LeaseOptions => {
      const real = createFsLeaseStore({ path });
      const store: LeaseStore = {
        read: async () => {
          const found = await real.read();
          trace.push(
            `${name} read: ${found ? `${summary(found.record)} @${found.generation}` : 'none'}`,
          );
          return found;
        },
        write: async (record, generation) => {
          try {
            const written = await real.write(record, generation);
            trace.push(`${name} write over @${generation}: ${summary(record)} -> @${written}`);
            return written;
          } catch (error) {
            trace.push(
              `${name} write over @${generation}: ${summary(record)} -> ${coerceError(error).code}`,
            );
            throw error;
          }
        },
        close: () => real.close(),
      };
      const sink = {
        write: (line: string) => {
          const { severity, message, epoch } = JSON.parse(line) as Record<string, unknown>;
          trace.push(`${name} log ${severity}: ${message} (epoch ${epoch})`);
        },
      };
      return {
        store,
        owner: name,
        revision: null,
        timing: slow,
        logger: createLogger({ stream: sink }),
        wallClock: () => new Date('2026-01-01T00:00:00Z'),
      };
    };
    const events = (name: string): HolderEvents => ({
      onLost: (reason) => trace.push(`${name} lost: ${reason}`),
      onHandoverRequested: (by) => trace.push(`${name} handover requested by ${by.owner}`),
    });
    const landed = (what: string) => () => trace.some((line) => line.startsWith(what));

    const a = createLease(traced('a'));
    await a.acquire({ timeoutMs: 1_000, requestHandover: false });
    a.startRenewing(events('a'));
    await until(landed('a write over @1'), "a's first renewal");
    expect(await a.raiseEpoch(5)).toBe(5);
    await a.release();
    const b = createLease(traced('b'));
    await b.acquire({ timeoutMs: 1_000, requestHandover: false });
    b.startRenewing(events('b'));
    // An operator rewrites the record: b's next renewal finds it superseded.
    const operator = createFsLeaseStore({ path });
    const current = await operator.read();
    await operator.write(
      { ...current!.record, holder: { owner: 'z', revision: null, since: 'now' } },
      current!.generation,
    );
    await until(landed('b lost'), 'b to notice');
    expect(trace).toEqual([
      'a read: none',
      'a write over @0: epoch 1, holder a, handover none -> @1',
      'a log INFO: database lease acquired (epoch 1)',
      'a write over @1: epoch 1, holder a, handover none -> @2',
      'a write over @2: epoch 5, holder a, handover none -> @3',
      'a log WARNING: raised the lease epoch above the one recorded in the database (epoch 5)',
      'a write over @3: epoch 5, holder none, handover none -> @4',
      'a log INFO: database lease released (epoch 5)',
      'b read: epoch 5, holder none, handover none @4',
      'b write over @4: epoch 6, holder b, handover none -> @5',
      'b log INFO: database lease acquired (epoch 6)',
      'b write over @5: epoch 6, holder b, handover none -> CONFLICT',
      'b read: epoch 6, holder z, handover none @6',
      'b log ERROR: database lease lost (epoch 6)',
      'b lost: superseded',
    ]);
    b.abandon();
    await operator.close();
  });

  it('refuses timings that leave no room to retry a renewal', () => {
    expect(() =>
      lease(storePath(), 'a', { timing: { ttlMs: 1_000, marginMs: 300, renewEveryMs: 500 } }),
    ).toThrow(/no room/);
  });
});
