/**
 * Deleting the Litestream replicas of earlier writers (src/writer/replica-pruning.ts)
 * and listing the epoch paths (src/writer/replica-epochs.ts): on the GCS adapter
 * against the emulator, with two-object pages so that the listings span
 * several, and on a real folder. The epoch paths are listed one level deep, one
 * entry per path; a test counts the emulator's list requests. A superseded
 * path stays until its newest object is older than Litestream's retention; the
 * tests that are not about the retention prune as if it had passed (`AFTER`).
 * The whole path (real backends, real Litestream) is in e2e/faults/lease.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ObjectStore } from '@slideshow/storage';
import { createFsObjectStore } from '@slideshow/storage/fs';
import { createGcsObjectStore } from '@slideshow/storage/gcs';
import { type GcsEmulator, startGcsEmulator } from '@slideshow/storage/testing/gcs-emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/open-database.ts';
import {
  createWriterEpochsRepository,
  type WriterEpoch,
} from '../src/db/writer-epochs-repository.ts';
import { replicaPathFor } from '../src/writer/litestream.ts';
import { epochOfKey, listReplicaEpochs } from '../src/writer/replica-epochs.ts';
import {
  pruneAfterRestore,
  pruneReplicasBefore,
  REPLICA_RETENTION_MS,
  type RetentionOptions,
} from '../src/writer/replica-pruning.ts';
import { memoryLogger } from './helpers.ts';

/** A pruning a day after the retention of every object the tests write. */
function after(): RetentionOptions {
  return { now: new Date(Date.now() + REPLICA_RETENTION_MS + 24 * 60 * 60 * 1000) };
}

/** The newest `updated` under `prefix`, as the store reports it. */
async function newestUnder(store: ObjectStore, prefix: string): Promise<number> {
  let newest = 0;
  for await (const info of store.list(prefix)) newest = Math.max(newest, info.updated.getTime());
  return newest;
}

/** What the bucket holds besides the epoch paths; none of it may ever be deleted. */
const OTHERS = [
  'slideshow.db.lease',
  'slideshow.db/generations/0123456789abcdef/snapshots/00000000.snapshot.lz4',
  'slideshow.db/epochs/README',
  'slideshow.db/epochs/42/not-padded',
  // Sorts before epoch 1's own objects ('.' before '/'): the listing must step over it.
  'slideshow.db/epochs/0000000001.bak/snapshot',
];

/** Litestream-like objects for one epoch's path. */
function replicaKeys(epoch: number, count: number): string[] {
  const generation = `${replicaPathFor(epoch)}/generations/00000000000000${epoch}a`;
  return Array.from({ length: count }, (_, i) =>
    i === 0
      ? `${generation}/snapshots/00000000.snapshot.lz4`
      : `${generation}/wal/00000000_${String(i).padStart(8, '0')}.wal.lz4`,
  );
}

async function fill(store: ObjectStore, keys: string[]): Promise<void> {
  for (const key of keys) {
    await store.put(key, Buffer.from(key), { contentType: 'application/octet-stream' });
  }
}

async function keysOf(store: ObjectStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of store.list('slideshow.db')) keys.push(info.key);
  return keys.sort();
}

function pruningSuite(name: string, open: () => Promise<ObjectStore>) {
  describe(name, () => {
    it('deletes the superseded epoch paths below the one restored from, and nothing else', async () => {
      const store = await open();
      // Epoch 2's writer never became ready and 3's replica was stale: the lineage (1 → 4 → 5)
      // does not vouch for either path, so both stay.
      const kept = [...replicaKeys(2, 1), ...replicaKeys(3, 4), ...replicaKeys(5, 2), ...OTHERS];
      await fill(store, [...replicaKeys(1, 5), ...replicaKeys(4, 2), ...kept]);

      const superseded = new Set([1, 4]);
      expect(await pruneReplicasBefore(store, 5, superseded, after())).toEqual({
        epochs: [1, 4],
        objects: 7,
        kept: [2, 3],
        retained: [],
      });
      expect(await keysOf(store)).toEqual([...kept].sort());
      // A second pass deletes nothing more.
      expect(await pruneReplicasBefore(store, 5, superseded, after())).toEqual({
        epochs: [],
        objects: 0,
        kept: [2, 3],
        retained: [],
      });
    });

    it('keeps a superseded epoch path until it is older than the retention, and prunes it after', async () => {
      const store = await open();
      // 1 is superseded; 2 is not (the lineage does not vouch for it); 3 was restored from.
      await fill(store, [...replicaKeys(1, 3), ...replicaKeys(2, 1), ...replicaKeys(3, 1)]);
      const newest = await newestUnder(store, `${replicaPathFor(1)}/`);
      const at = (ms: number) => ({ now: new Date(ms) });

      // Now, and when its newest object is exactly the retention old: a point-in-time restore
      // to before epoch 3 started still needs it.
      for (const options of [{}, at(newest + REPLICA_RETENTION_MS)]) {
        expect(await pruneReplicasBefore(store, 3, new Set([1]), options)).toEqual({
          epochs: [],
          objects: 0,
          kept: [2],
          retained: [1],
        });
      }
      expect(await keysOf(store)).toHaveLength(5);

      // One millisecond older than the retention: no restore can reach it any more.
      expect(
        await pruneReplicasBefore(store, 3, new Set([1]), at(newest + REPLICA_RETENTION_MS + 1)),
      ).toEqual({ epochs: [1], objects: 3, kept: [2], retained: [] });
      expect(await keysOf(store)).toEqual([...replicaKeys(2, 1), ...replicaKeys(3, 1)].sort());
    });

    it('lists the epochs that have a path, in order, and nothing else', async () => {
      const store = await open();
      await fill(store, [
        ...replicaKeys(12, 3),
        ...replicaKeys(3, 1),
        ...replicaKeys(1, 2),
        ...OTHERS,
      ]);
      expect(await listReplicaEpochs(store)).toEqual([1, 3, 12]);
    });

    it('prunes only after a sound restore from an epoch path, and logs what it did', async () => {
      const store = await open();
      await fill(store, [...replicaKeys(6, 1), ...replicaKeys(7, 2), ...replicaKeys(8, 2)]);
      await fill(store, replicaKeys(9, 1));
      const { logger, lines } = memoryLogger();

      const prune = (path: string, databaseEpoch: number | null) =>
        pruneAfterRestore(async () => store, { path, databaseEpoch, superseded: [7, 8] }, logger);
      // From the pre-lease single path, or from nothing: older epochs may hold the only data.
      expect(await prune('slideshow.db', 4)).toBeUndefined();
      expect(await prune('no replica', null)).toBeUndefined();
      // A stale replica (its database misses its own writer's epoch).
      expect(await prune(replicaPathFor(9), 8)).toBeUndefined();
      expect(lines.map((l) => l.message)).toEqual([
        'kept the replicas of earlier writers: the restored replica is not sound',
      ]);
      expect((await keysOf(store)).length).toBe(6);

      // Within the retention, the superseded paths stay, and the log says why.
      expect(await prune(replicaPathFor(9), 9)).toEqual({
        epochs: [],
        objects: 0,
        kept: [6],
        retained: [7, 8],
      });
      expect(lines).toContainEqual(
        expect.objectContaining({
          message:
            'kept the replicas of earlier writers within the retention, for restores to a point in time',
          epochs: [7, 8],
          retentionHours: 72,
        }),
      );
      expect((await keysOf(store)).length).toBe(6);

      const pruned = await pruneAfterRestore(
        async () => store,
        { path: replicaPathFor(9), databaseEpoch: 9, superseded: [7, 8] },
        logger,
        after(),
      );
      expect(pruned).toEqual({ epochs: [7, 8], objects: 4, kept: [6], retained: [] });
      expect(await keysOf(store)).toEqual([...replicaKeys(6, 1), ...replicaKeys(9, 1)]);
      expect(lines).toContainEqual(
        expect.objectContaining({
          message: 'deleted the replicas of earlier writers',
          keptFrom: 'slideshow.db/epochs/0000000009',
          epochs: [7, 8],
          objects: 4,
        }),
      );
      expect(lines).toContainEqual(
        expect.objectContaining({
          message: 'kept older replicas this database does not descend from',
          epochs: [6],
        }),
      );
    });
  });
}

describe('replica pruning', () => {
  let emulator: GcsEmulator;
  let root: string;
  let bucketNumber = 0;

  beforeAll(async () => {
    emulator = await startGcsEmulator();
    root = mkdtempSync(join(tmpdir(), 'replica-pruning-'));
  });
  afterAll(async () => {
    await emulator?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('reads the epoch of replica keys only', () => {
    expect(epochOfKey('slideshow.db/epochs/0000000042/generations/x')).toBe(42);
    expect(epochOfKey('slideshow.db/epochs/0000000042')).toBeUndefined();
    for (const key of OTHERS) expect(epochOfKey(key)).toBeUndefined();
  });

  pruningSuite('on Cloud Storage (the emulator, two objects a page)', async () =>
    createGcsObjectStore({
      bucket: `pruning-${bucketNumber++}`,
      apiEndpoint: emulator.endpoint,
      projectId: emulator.projectId,
      listPageSize: 2,
    }),
  );

  pruningSuite('on a folder', async () =>
    createFsObjectStore({ root: mkdtempSync(join(root, 'store-')) }),
  );

  it('lists one entry per epoch path, never the replica objects under them', async () => {
    const bucket = `pruning-${bucketNumber++}`;
    const store = createGcsObjectStore({
      bucket,
      apiEndpoint: emulator.endpoint,
      projectId: emulator.projectId,
      listPageSize: 2,
    });
    await fill(store, [...replicaKeys(1, 20), ...replicaKeys(2, 20), ...replicaKeys(3, 20)]);
    /** The `objects.list` requests over the whole epochs folder since `from`. */
    const epochListings = (from: number) =>
      emulator.requests
        .slice(from)
        .map((r) => new URL(r.url, emulator.endpoint))
        .filter(
          (url) =>
            url.pathname.endsWith(`/b/${bucket}/o`) &&
            url.searchParams.get('prefix') === 'slideshow.db/epochs/',
        );
    /** The prefixes of the list requests since `from`. */
    const listedPrefixesSince = (from: number) =>
      new Set(
        emulator.requests
          .slice(from)
          .map((r) => new URL(r.url, emulator.endpoint).searchParams.get('prefix'))
          .filter((prefix) => prefix !== null),
      );
    let from = emulator.requests.length;
    expect(await listReplicaEpochs(store)).toEqual([1, 2, 3]);
    // Listing every object, two a page, would take 30 requests: one level takes one.
    expect(epochListings(from).map((url) => url.searchParams.get('delimiter'))).toEqual(['/']);

    // Within the retention, the first superseded path's objects are read and the later
    // superseded path's are not: it ended after the first, so it is within the retention too.
    from = emulator.requests.length;
    expect(await pruneReplicasBefore(store, 3, new Set([1, 2]))).toEqual({
      epochs: [],
      objects: 0,
      kept: [],
      retained: [1, 2],
    });
    expect(listedPrefixesSince(from)).toEqual(
      new Set(['slideshow.db/epochs/', `${replicaPathFor(1)}/`]),
    );

    from = emulator.requests.length;
    expect(await pruneReplicasBefore(store, 3, new Set([1]), after())).toEqual({
      epochs: [1],
      objects: 20,
      kept: [2],
      retained: [],
    });
    expect(epochListings(from)).toHaveLength(1);
    // Only the deleted path's objects were read; epoch 2's and 3's were not listed.
    expect(listedPrefixesSince(from)).toEqual(
      new Set(['slideshow.db/epochs/', `${replicaPathFor(1)}/`]),
    );
  });

  it('takes as superseded only a writer whose direct successor restored it after a release', () => {
    const db = openDatabase(join(mkdtempSync(join(root, 'db-')), 'slideshow.db'));
    try {
      const epochs = createWriterEpochsRepository(db);
      const writer = (
        epoch: number,
        restoredEpoch: number | null,
        previousEpoch: number,
        acquired: WriterEpoch['acquired'],
      ) =>
        epochs.record({
          epoch,
          owner: `owner-${epoch}`,
          revision: null,
          restoredEpoch,
          previousEpoch,
          startedAt: new Date(0).toISOString(),
          acquired,
        });
      writer(1, null, 0, 'created');
      // 2 took 1's released lease and restored 1's database: 1's path was final, it is superseded.
      writer(2, 1, 1, 'released');
      // 3 served, but its replica came back stale (without 3's own row), so 4 holds 2's data
      // restored from 3's path: neither 2's nor 3's path is proven to live on in full.
      writer(4, 2, 3, 'released');
      // 5 took over after 4's lease expired: 4's Litestream may have uploaded more afterwards.
      writer(5, 4, 4, 'expired');
      writer(6, 5, 5, 'released');
      // Recorded before migration 011: how it took the lease is unknown.
      writer(7, 6, 6, null);
      expect(epochs.superseded()).toEqual([1, 5]);
    } finally {
      db.close();
    }
  });

  it('takes the retention from deploy/litestream.yml, the value Litestream itself applies', () => {
    const config = readFileSync(new URL('../../../deploy/litestream.yml', import.meta.url), 'utf8');
    const values = [...config.matchAll(/^\s*retention:\s*(\d+)h\s*$/gm)].map((m) => Number(m[1]));
    expect(values).toHaveLength(1);
    expect((values[0] ?? 0) * 60 * 60 * 1000).toBe(REPLICA_RETENTION_MS);
    // The file's header states the same window.
    expect(config).toContain(`keeps ${values[0]} h of history`);
  });

  it('logs a failure and resolves instead of throwing', async () => {
    const { logger, lines } = memoryLogger();
    const failing = async (): Promise<ObjectStore> => {
      throw new Error('bucket unreachable');
    };
    const restored = { path: replicaPathFor(2), databaseEpoch: 2, superseded: [1] };
    expect(await pruneAfterRestore(failing, restored, logger)).toBeUndefined();
    expect(lines).toContainEqual(
      expect.objectContaining({
        severity: 'WARNING',
        message: 'could not delete the replicas of earlier writers; the next writer tries again',
      }),
    );
  });
});
