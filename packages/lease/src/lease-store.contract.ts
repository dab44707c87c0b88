/**
 * The contract every LeaseStore adapter passes (fs.test.ts, gcs.test.ts):
 * compare-and-swap on one record, as Cloud Storage's ifGenerationMatch does.
 */
import { coerceError } from '@slideshow/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ABSENT, type LeaseRecord, type LeaseStore } from './lease-store.ts';

/** A valid record for tests. */
export function sampleRecord(epoch: number, owner: string | null = 'owner-a'): LeaseRecord {
  return {
    version: 1,
    epoch,
    ttlMs: 15_000,
    holder: owner ? { owner, revision: 'rev-1', since: '2026-12-01T00:00:00.000Z' } : null,
    handover: null,
    writtenAt: '2026-12-01T00:00:00.000Z',
  };
}

const codeOf = (error: unknown) => coerceError(error).code;

/** Runs the contract against stores made by `factory` (a fresh, empty store per test). */
export function runLeaseStoreContract(
  name: string,
  factory: () => Promise<LeaseStore> | LeaseStore,
): void {
  describe(`LeaseStore contract: ${name}`, () => {
    let store: LeaseStore;
    beforeEach(async () => {
      store = await factory();
    });
    afterEach(async () => {
      await store.close();
    });

    it('reads nothing before the first write', async () => {
      expect(await store.read()).toBeUndefined();
    });

    it('creates the record only when it does not exist (ABSENT) and reads it back with its generation', async () => {
      const generation = await store.write(sampleRecord(1), ABSENT);
      expect(generation).not.toBe(ABSENT);
      expect(await store.read()).toEqual({ record: sampleRecord(1), generation });
      await expect(store.write(sampleRecord(9, 'owner-b'), ABSENT)).rejects.toSatisfy(
        (e) => codeOf(e) === 'CONFLICT',
      );
      expect((await store.read())?.record).toEqual(sampleRecord(1));
    });

    it('replaces the record only at the expected generation, with a new generation each time', async () => {
      const first = await store.write(sampleRecord(1), ABSENT);
      const second = await store.write(sampleRecord(2), first);
      expect(second).not.toBe(first);
      await expect(store.write(sampleRecord(3, 'owner-b'), first)).rejects.toSatisfy(
        (e) => codeOf(e) === 'CONFLICT',
      );
      const third = await store.write(sampleRecord(3, null), second);
      expect(new Set([first, second, third]).size).toBe(3);
      expect(await store.read()).toEqual({ record: sampleRecord(3, null), generation: third });
    });

    it('lets exactly one of several concurrent writers at one generation win', async () => {
      const base = await store.write(sampleRecord(1), ABSENT);
      const outcomes = await Promise.allSettled(
        ['b', 'c', 'd', 'e'].map((owner) => store.write(sampleRecord(2, `owner-${owner}`), base)),
      );
      const winners = outcomes.filter((o) => o.status === 'fulfilled');
      const conflicts = outcomes.filter(
        (o) => o.status === 'rejected' && codeOf(o.reason) === 'CONFLICT',
      );
      expect([winners.length, conflicts.length]).toEqual([1, 3]);
      const current = await store.read();
      expect(current?.generation).toBe((winners[0] as PromiseFulfilledResult<string>).value);
    });

    it('refuses a record that does not match the schema before writing anything', async () => {
      const bad = { ...sampleRecord(1), epoch: -1 };
      await expect(store.write(bad, ABSENT)).rejects.toThrow();
      expect(await store.read()).toBeUndefined();
    });
  });
}
