/**
 * One writer, always (docs/deploy.md, "One writer: the database lease"): two
 * or three real backend processes, started through the image's entry point,
 * against the GCS emulator (lease, replica and images), with the real
 * Litestream binary replicating and restoring. Each scenario uses its own
 * database bucket. What is measured is printed as `[lease] figures: …` and
 * copied into docs/reliability.md.
 *
 * "Nothing acknowledged is lost" is checked the only way that counts: a fresh
 * instance restores from the replica and must hold every image id that any
 * instance answered 202 for.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createLease } from '@slideshow/lease';
import { createGcsLeaseStore } from '@slideshow/lease/gcs';
import { createLogger } from '@slideshow/runtime';
import { createGcsObjectStore } from '@slideshow/storage/gcs';
import { type GcsEmulator, startGcsEmulator } from '@slideshow/storage/testing/gcs-emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  brokenLitestream,
  type ClusterOptions,
  dockerfileLitestreamVersion,
  type Instance,
  imageIds,
  isReady,
  litestreamBinary,
  litestreamVersion,
  readinessReason,
  startInstance,
  startUploads,
  stopped,
  TOKEN,
  upload,
  waitReady,
  writerEpochs,
} from './lease-cluster.ts';

const say = (line: string) => process.stdout.write(`[lease] ${line}\n`);
const litestream = litestreamBinary();
const figures: Record<string, string> = {};
const SKEW_PRELOAD = fileURLToPath(new URL('./skew-clock.ts', import.meta.url));
/** Short TTL (takeover after 4.5 s) and a wait long enough for a handover under load. */
const FAILED_DEPLOY_ENV = { LEASE_TTL_MS: '4000', LEASE_WAIT_MS: '30000' };

// @flydotio/litestream ships binaries for linux/darwin x64/arm64 only; elsewhere nothing can replicate.
describe.skipIf(!litestream)(
  'one writer: the database lease with Litestream and the GCS emulator',
  () => {
    let emulator: GcsEmulator;
    let root: string;
    const instances: Instance[] = [];
    let bucketNumber = 0;

    const cluster = (): ClusterOptions => ({
      root,
      gcsEndpoint: emulator.endpoint,
      dbBucket: `lease-db-${bucketNumber++}`,
      litestream: litestream ?? '',
    });
    const start = async (c: ClusterOptions, name: string, env: Record<string, string> = {}) => {
      const instance = await startInstance(c, name, env);
      instances.push(instance);
      return instance;
    };
    /** A fresh instance restores the replica; returns the ids it holds, then stops. */
    const restoredIds = async (c: ClusterOptions, name: string) => {
      const checker = await start(c, name);
      await waitReady(checker);
      const ids = imageIds(checker.databasePath);
      checker.signal('SIGTERM');
      expect(await stopped(checker)).toBe(0);
      return ids;
    };
    /** The scenario's database bucket, through the real Cloud Storage client. */
    const databaseBucket = (c: ClusterOptions) =>
      createGcsObjectStore({
        bucket: c.dbBucket,
        apiEndpoint: emulator.endpoint,
        projectId: emulator.projectId,
      });
    /**
     * Writers one after another, as deploys run them: each becomes ready, takes one upload
     * (image `firstImage + i`) and stops on SIGTERM. Returns the acknowledged image ids.
     */
    const writersInTurn = async (c: ClusterOptions, names: string[], firstImage: number) => {
      const acknowledged: string[] = [];
      for (const [i, name] of names.entries()) {
        const writer = await start(c, name);
        await waitReady(writer);
        const outcome = await upload(writer, firstImage + i);
        if (outcome.id) acknowledged.push(outcome.id);
        writer.signal('SIGTERM');
        expect(await stopped(writer)).toBe(0);
      }
      expect(acknowledged).toHaveLength(names.length);
      return acknowledged;
    };
    const lostOf = (acked: { id?: string }[], ids: Set<string>) =>
      acked.filter((a) => a.id && !ids.has(a.id)).map((a) => a.id);

    beforeAll(async () => {
      emulator = await startGcsEmulator();
      root = mkdtempSync(join(tmpdir(), 'lease-suite-'));
    });

    afterAll(async () => {
      // FAULT_KEEP_DATA=1 keeps every instance's data folder and log for a post-mortem.
      const keep = process.env.FAULT_KEEP_DATA === '1';
      if (keep) {
        for (const i of instances) writeFileSync(join(i.dataDir, 'backend.log'), i.logs());
        say(`data and logs kept in ${root}`);
      }
      for (const instance of instances) instance.signal('SIGKILL');
      await Promise.all(instances.map((i) => i.exited));
      await emulator?.stop();
      if (!keep) rmSync(root, { recursive: true, force: true });
      say(`figures: ${JSON.stringify(figures)}`);
    });

    it('runs the same Litestream version as the Dockerfile installs', () => {
      expect(litestreamVersion(litestream ?? '')).toBe(dockerfileLitestreamVersion());
    });

    it('lets exactly one of two instances started together become ready; the other waits, then refuses', async () => {
      const c = cluster();
      const env = { LEASE_TTL_MS: '6000', LEASE_WAIT_MS: '12000' };
      const [a, b] = await Promise.all([start(c, 'together-a', env), start(c, 'together-b', env)]);
      const first = await Promise.race([waitReady(a).then(() => a), waitReady(b).then(() => b)]);
      const other = first === a ? b : a;
      expect(await isReady(other)).toBe(false);
      // It says it waits (bounded wait: its line may still be in the pipe when the winner is ready).
      for (let i = 0; i < 100 && !other.logs().includes('"waiting for the database lease"'); i++)
        await sleep(50);
      expect(other.logs()).toContain('"waiting for the database lease"');
      // The loser never restores or replicates: its own database file does not exist.
      expect(other.logs()).not.toContain('"litestream"');
      // Bounded wait: it gives up with a clear reason and a non-zero exit.
      expect(await stopped(other, 30_000)).toBe(1);
      expect(other.logs()).toContain(
        'refusing to start: this instance could not get the database lease',
      );
      expect(await isReady(first)).toBe(true);
      first.signal('SIGTERM');
      expect(await stopped(first)).toBe(0);
    });

    it('hands over on SIGTERM while uploads flow: the new instance restores everything acknowledged', async () => {
      const c = cluster();
      const a = await start(c, 'rolling-a');
      await waitReady(a);
      const b = await start(c, 'rolling-b');
      const uploads = startUploads(() => [a, b]);
      await sleep(3_000);
      expect(await isReady(b)).toBe(false);
      const sigterm = performance.now();
      a.signal('SIGTERM');
      const readyAt = await waitReady(b);
      const handoverMs = Math.round(readyAt - sigterm);
      await sleep(2_000);
      await uploads.stop();
      expect(await stopped(a)).toBe(0);
      b.signal('SIGTERM');
      expect(await stopped(b)).toBe(0);

      const ids = await restoredIds(c, 'rolling-check');
      const lost = lostOf(uploads.acknowledged, ids);
      for (const u of uploads.acknowledged.filter((x) => lost.includes(x.id))) {
        say(
          `lost ${u.id}: acknowledged by ${u.instance} ${Math.round(u.at - sigterm)} ms after SIGTERM (ready at ${Math.round(readyAt - sigterm)} ms)`,
        );
      }
      const byA = uploads.acknowledged.filter((u) => u.instance === a.name).length;
      const byB = uploads.acknowledged.filter((u) => u.instance === b.name).length;
      figures.sigtermHandoverMs = String(handoverMs);
      figures.sigtermHandoverWrites = `acknowledged ${byA} by the old + ${byB} by the new, lost ${lost.length}`;
      say(
        `SIGTERM handover: ${handoverMs} ms from SIGTERM to the new instance ready; ${figures.sigtermHandoverWrites}`,
      );
      expect(byA).toBeGreaterThan(0);
      expect(byB).toBeGreaterThan(0);
      expect(lost).toEqual([]);
      // Epochs: the old writer 1, the new 2, the checker 3, each recorded before its writes.
      expect(writerEpochs(join(root, 'rolling-check', 'slideshow.db')).map((e) => e.epoch)).toEqual(
        [1, 2, 3],
      );
    });

    it('hands over to a new revision that asks for it (a Cloud Run deploy) without SIGTERM, losing nothing', async () => {
      const c = cluster();
      const a = await start(c, 'deploy-old', { K_REVISION: 'backend-00001-old' });
      await waitReady(a);
      const uploads = startUploads(() => [a]);
      await sleep(2_000);
      const deployed = performance.now();
      const b = await start(c, 'deploy-new', { K_REVISION: 'backend-00002-new' });
      await waitReady(b);
      const handoverMs = Math.round(performance.now() - deployed);
      // The old revision is retired, not stopped: reads still answer, writes are refused.
      expect(await isReady(a)).toBe(false);
      const refused = await upload(a, 9_999_999);
      expect(refused).toMatchObject({ status: 503, code: 'LEASE_NOT_HELD' });
      expect((await fetch(`${a.url}/api/slideshow`)).status).toBe(200);
      await uploads.stop();
      const more = startUploads(() => [b]);
      await sleep(1_500);
      await more.stop();
      a.signal('SIGTERM');
      b.signal('SIGTERM');
      expect(await stopped(a)).toBe(0);
      expect(await stopped(b)).toBe(0);

      const ids = await restoredIds(c, 'deploy-check');
      const acknowledged = [...uploads.acknowledged, ...more.acknowledged];
      const lost = lostOf(acknowledged, ids);
      figures.deployHandoverMs = String(handoverMs);
      figures.deployHandoverWrites = `acknowledged ${uploads.acknowledged.length} by the old + ${more.acknowledged.length} by the new, lost ${lost.length}`;
      say(
        `deploy handover: ${handoverMs} ms from starting the new revision to ready; ${figures.deployHandoverWrites}`,
      );
      expect(uploads.acknowledged.length).toBeGreaterThan(0);
      expect(lost).toEqual([]);
    });

    /** The serving revision of a failed-deploy scenario, ready, with one upload acknowledged. */
    const servingRevision = async (c: ClusterOptions, name: string, image: number) => {
      const old = await start(c, name, { ...FAILED_DEPLOY_ENV, K_REVISION: 'backend-00001-good' });
      await waitReady(old);
      const before = await upload(old, image);
      expect(before.status).toBe(202);
      return { old, before };
    };
    /** A new revision whose Litestream cannot replicate (lease-cluster.ts `brokenLitestream`). */
    const brokenRevision = (c: ClusterOptions, name: string, mode: 'fail' | 'hang') =>
      start(c, name, {
        ...FAILED_DEPLOY_ENV,
        K_REVISION: `backend-00002-${mode}`,
        LITESTREAM_BIN: brokenLitestream(root, litestream ?? '', mode),
      });
    /**
     * A deploy whose new revision took the lease and died before it was ready: Cloud Run keeps
     * the traffic on the old revision, so the old instance must not stay read-only. It exits 1;
     * the test then does what Cloud Run does for a service with min-instances=1 — start a
     * fresh instance of the serving revision — which must restore from the replica and take
     * writes. Returns how long from `diedAt` until it was ready (a figure).
     */
    const recoversFromFailedDeploy = async (
      c: ClusterOptions,
      name: string,
      old: Instance,
      failed: { before: string; diedAt: number; logged: string },
    ) => {
      // Bounded: with the old code the retired instance never exits (SIGKILL at the limit: null).
      expect(await stopped(old, 60_000)).toBe(1);
      expect(old.logs()).toContain(`${failed.logged}; exiting`);
      const fresh = await start(c, name, {
        ...FAILED_DEPLOY_ENV,
        K_REVISION: 'backend-00001-good',
      });
      const readyAt = await waitReady(fresh);
      const after = await upload(fresh, 5_999);
      expect(after.status).toBe(202);
      // Restored from the replica (the old writer's final sync), not started empty.
      expect(imageIds(fresh.databasePath).has(failed.before)).toBe(true);
      // The failed writer's epoch (2) never replicated: the fresh one restored epoch 1's path.
      expect(writerEpochs(fresh.databasePath).map((e) => e.epoch)).toEqual([1, 3]);
      fresh.signal('SIGTERM');
      expect(await stopped(fresh)).toBe(0);
      return Math.round(readyAt - failed.diedAt);
    };

    it('takes writes again after a new revision took the lease and released it before it was ready', async () => {
      const c = cluster();
      const { old, before } = await servingRevision(c, 'failed-deploy-old', 5_100);
      // The new release cannot replicate: it takes the lease, restores, migrates, records its
      // epoch, then its Litestream exits and it releases the lease and exits 1.
      const bad = await brokenRevision(c, 'failed-deploy-new', 'fail');
      expect(await stopped(bad, 60_000)).toBe(1);
      const diedAt = performance.now();
      expect(bad.logs()).toContain('"database lease acquired"');
      expect(old.logs()).toContain('"handed over; serving reads only until SIGTERM"');
      const recoveryMs = await recoversFromFailedDeploy(c, 'failed-deploy-fresh', old, {
        before: before.id ?? '',
        diedAt,
        logged: 'the successor took the database lease and released it before it served',
      });
      figures.failedDeployReleasedRecoveryMs = String(recoveryMs);
      say(`failed deploy (released): writes accepted again ${recoveryMs} ms after it exited`);
    }, 180_000);

    it('leaves a slow new revision alone while it renews, and takes writes again once it dies before it was ready', async () => {
      const c = cluster();
      const { old, before } = await servingRevision(c, 'slow-deploy-old', 5_200);
      // The new release's Litestream never writes its first snapshot: it holds the lease and
      // renews it while it waits (up to 60 s), as a slow restore would.
      const slow = await brokenRevision(c, 'slow-deploy-new', 'hang');
      for (let i = 0; i < 600; i++) {
        if ((await readinessReason(slow)) === 'starting replication and the app') break;
        await sleep(50);
      }
      expect(await readinessReason(slow)).toBe('starting replication and the app');
      // Three TTLs: a successor that renews is never taken for a dead one.
      await sleep(12_000);
      expect(old.child.exitCode).toBeNull();
      expect(old.logs()).not.toContain('before it served');
      expect(await upload(old, 5_201)).toMatchObject({ status: 503, code: 'LEASE_NOT_HELD' });
      // It dies before it is ready (out of memory, the startup probe's limit): kill -9.
      slow.signal('SIGKILL');
      await slow.exited;
      const diedAt = performance.now();
      const recoveryMs = await recoversFromFailedDeploy(c, 'slow-deploy-fresh', old, {
        before: before.id ?? '',
        diedAt,
        logged: 'the successor took the database lease and stopped renewing it before it served',
      });
      expect(old.logs()).toContain(
        '"released the database lease of a successor that stopped renewing"',
      );
      figures.failedDeployKilledRecoveryMs = String(recoveryMs);
      say(`failed deploy (killed, TTL 4 s): writes accepted again ${recoveryMs} ms after the kill`);
    }, 180_000);

    it('survives kill -9 of the holder: takeover after the TTL, restore of the last replicated state', async () => {
      const c = cluster();
      const a = await start(c, 'crash-a');
      await waitReady(a);
      const b = await start(c, 'crash-b');
      const uploads = startUploads(() => [a, b]);
      await sleep(4_000);
      const killedAt = performance.now();
      a.signal('SIGKILL');
      await a.exited;
      const readyAt = await waitReady(b);
      const takeoverMs = Math.round(readyAt - killedAt);
      await sleep(2_000);
      await uploads.stop();
      // No write was accepted by two instances: the new one acknowledged nothing while the
      // killed holder was alive (an order, measured on one clock, not a duration).
      const byB = uploads.acknowledged.filter((u) => u.instance === b.name);
      expect(byB.length).toBeGreaterThan(0);
      expect(byB.filter((u) => u.at < killedAt)).toEqual([]);
      b.signal('SIGTERM');
      expect(await stopped(b)).toBe(0);

      const ids = await restoredIds(c, 'crash-check');
      const byA = uploads.acknowledged.filter((u) => u.instance === a.name);
      const lost = byA.filter((u) => u.id && !ids.has(u.id));
      const lostWindowMs = lost.length
        ? Math.round(killedAt - Math.min(...lost.map((u) => u.at)))
        : 0;
      figures.killTakeoverMs = String(takeoverMs);
      figures.killLostWrites = `${lost.length} of ${byA.length} acknowledged by the killed holder (all within the last ${lostWindowMs} ms before the kill)`;
      say(
        `kill -9: takeover ${takeoverMs} ms after the kill (TTL 15 s); lost ${figures.killLostWrites}`,
      );
      // Nothing acknowledged by the new holder is missing. Of the killed holder's writes only
      // the newest may be (Litestream replicates in commit order, so what survives is a prefix):
      // no lost write was acknowledged before a surviving one was even sent. How far back the
      // loss reaches (the recovery point, Litestream's 1 s sync interval) is a figure, above.
      expect(lostOf(byB, ids)).toEqual([]);
      expect(byA.length).toBeGreaterThan(0);
      const kept = byA.filter((u) => u.id && ids.has(u.id));
      // The takeover restored the killed holder's replicated writes, not an empty database.
      expect(kept.length).toBeGreaterThan(0);
      const outOfOrder = lost.filter((l) => kept.some((k) => l.at < k.sentAt));
      expect(outOfOrder).toEqual([]);
    }, 120_000);

    it('refuses a write that was in flight when the holder lost its lease, and commits nothing of it', async () => {
      const c = cluster();
      const env = { LEASE_TTL_MS: '4000' };
      const a = await start(c, 'zombie-a', env);
      await waitReady(a);
      const b = await start(c, 'zombie-b', env);
      // The holder freezes (SIGSTOP: a stalled VM or a GC pause of a whole process group)...
      a.signal('SIGSTOP');
      const inFlight = upload(a, 4242);
      // ...long enough for the other instance to take the lease over and restore.
      await waitReady(b);
      const afterTakeover = await upload(b, 4343);
      expect(afterTakeover.status).toBe(202);
      a.signal('SIGCONT');
      const outcome = await inFlight;
      // The frozen holder's fence (monotonic deadline) refuses the write the moment it resumes.
      expect(outcome.status).not.toBe(202);
      if (outcome.status !== 'network-error') expect(outcome.code).toBe('LEASE_NOT_HELD');
      expect(await stopped(a)).toBe(1);
      expect(a.logs()).toContain('"database lease lost"');
      expect(imageIds(a.databasePath).size).toBe(0);
      b.signal('SIGTERM');
      expect(await stopped(b)).toBe(0);
      const ids = await restoredIds(c, 'zombie-check');
      expect([...ids]).toEqual([afterTakeover.id]);
      figures.leaseLostMidWrite = `in-flight upload answered ${outcome.status}${outcome.code ? ` ${outcome.code}` : ''}; nothing of it committed`;
    }, 120_000);

    it('ignores wall-clock skew: a contender whose clock runs two hours ahead still waits for a live holder', async () => {
      const c = cluster();
      const env = { LEASE_TTL_MS: '4000', LEASE_WAIT_MS: '60000' };
      const a = await start(c, 'skew-a', {
        ...env,
        SKEW_MS: String(-2 * 3_600_000),
        NODE_OPTIONS: `--import=${SKEW_PRELOAD}`,
      });
      await waitReady(a);
      const b = await start(c, 'skew-b', {
        ...env,
        SKEW_MS: String(2 * 3_600_000),
        NODE_OPTIONS: `--import=${SKEW_PRELOAD}`,
      });
      // Three TTLs: a wall-clock comparison would have declared the lease expired long ago.
      await sleep(12_000);
      expect(await isReady(b)).toBe(false);
      expect(await isReady(a)).toBe(true);
      expect((await upload(a, 777)).status).toBe(202);
      const sigterm = performance.now();
      a.signal('SIGTERM');
      await waitReady(b);
      figures.skewHandoverMs = String(Math.round(performance.now() - sigterm));
      expect(await stopped(a)).toBe(0);
      b.signal('SIGTERM');
      expect(await stopped(b)).toBe(0);
    }, 120_000);

    it('keeps the replicas its database supersedes while they are within the 72 h retention, and says so', async () => {
      const c = cluster();
      // Three writers in turn (a deploy, then another): epochs 1, 2 and 3.
      const acknowledged = await writersInTurn(c, ['prune-a', 'prune-b'], 9_000);
      const last = await start(c, 'prune-c');
      await waitReady(last);
      // The third writer restored epoch 2's database, which records that 2 restored 1's: epoch
      // 1's path is superseded, but a restore to a point in time before epoch 2 started needs it
      // for 72 h (REPLICA_RETENTION_MS; the deletion after it: apps/backend/test/replica-pruning.test.ts).
      const bucket = databaseBucket(c);
      const epochsInBucket = async () => {
        const epochs = new Set<number>();
        for await (const info of bucket.list('slideshow.db/epochs/')) {
          epochs.add(Number(info.key.split('/')[2]));
        }
        return [...epochs];
      };
      const logged = () =>
        last
          .logs()
          .includes(
            '"message":"kept the replicas of earlier writers within the retention, for restores to a point in time"',
          );
      await expect.poll(logged).toBe(true);
      expect(last.logs()).toContain('"epochs":[1]');
      expect(last.logs()).not.toContain('"message":"deleted the replicas of earlier writers"');
      expect(await epochsInBucket()).toEqual([1, 2, 3]);
      // Nothing acknowledged was lost, and the lease object is untouched.
      expect([...imageIds(last.databasePath)].sort()).toEqual([...acknowledged].sort());
      expect(await bucket.stat('slideshow.db.lease')).toBeDefined();
      last.signal('SIGTERM');
      expect(await stopped(last)).toBe(0);
    }, 120_000);

    it('restores the newest replica in the bucket when the lease object was deleted by hand', async () => {
      const c = cluster();
      const acknowledged = await writersInTurn(c, ['reset-a', 'reset-b'], 9_100);
      // The lease object (the only record of the last epoch) deleted, as `gcloud storage rm` does.
      const deleted = await fetch(
        `${emulator.endpoint}/storage/v1/b/${c.dbBucket}/o/slideshow.db.lease`,
        { method: 'DELETE' },
      );
      expect(deleted.status).toBe(204);
      const next = await start(c, 'reset-c');
      await waitReady(next);
      // Everything acknowledged is there, and the epochs keep growing past the restored ones.
      expect([...imageIds(next.databasePath)].sort()).toEqual([...acknowledged].sort());
      expect(writerEpochs(next.databasePath).map((e) => e.epoch)).toEqual([1, 2, 3]);
      expect(next.logs()).toContain(
        '"message":"the lease named no epoch with a replica; restored the newest one in the bucket"',
      );
      next.signal('SIGTERM');
      expect(await stopped(next)).toBe(0);
    }, 120_000);

    it('restores the last sound replica when more writers than the look-back died in a row', async () => {
      const c = cluster();
      // The last healthy writers: epochs 1 and 2, each acknowledged one upload.
      const acknowledged = await writersInTurn(c, ['deaths-a', 'deaths-b'], 9_200);
      // Then 25 writers took the lease one after another (epochs 3 to 27) and died without a
      // sound replica: most as a writer whose Litestream failed does (it releases the lease),
      // the last one killed (its lease expires). The backend's look-back covers 20 epochs.
      const bucket = databaseBucket(c);
      const leaseStore = createGcsLeaseStore({
        bucket: c.dbBucket,
        object: 'slideshow.db.lease',
        apiEndpoint: emulator.endpoint,
      });
      const quiet = createLogger({ stream: new PassThrough() });
      const DEAD = 25;
      for (let i = 0; i < DEAD; i++) {
        const lease = createLease({
          store: leaseStore,
          owner: `dead-writer-${i}`,
          revision: null,
          timing: { ttlMs: 1_000, marginMs: 100, renewEveryMs: 300, pollEveryMs: 50 },
          logger: quiet,
        });
        const { epoch } = await lease.acquire({ timeoutMs: 10_000, requestHandover: false });
        // Some left something at their path that is no replica: 4 and 6 lie beyond the
        // look-back (the fallback must pass them over for 2), 20 within it.
        if ([4, 6, 20].includes(epoch)) {
          const path = `slideshow.db/epochs/${String(epoch).padStart(10, '0')}/not-a-replica`;
          await bucket.put(path, Buffer.from('x'), { contentType: 'application/octet-stream' });
        }
        if (i < DEAD - 1) await lease.release();
        else lease.abandon();
      }
      await leaseStore.close();
      const startedAt = performance.now();
      const next = await start(c, 'deaths-next');
      const readyAt = await waitReady(next);
      // 21 restores in the look-back (27 down to 7), a listing, then 6, 4 and 2.
      figures.lookBackExhaustedReadyMs = String(Math.round(readyAt - startedAt));
      // The data of the last healthy writer is there, and epochs go on from the lease's.
      expect([...imageIds(next.databasePath)].sort()).toEqual([...acknowledged].sort());
      expect(writerEpochs(next.databasePath).map((e) => e.epoch)).toEqual([1, 2, DEAD + 3]);
      expect(next.logs()).toContain(
        '"message":"the lease named no epoch with a replica; restored the newest one in the bucket"',
      );
      expect(next.logs()).toContain('"restoredFrom":"slideshow.db/epochs/0000000002"');
      next.signal('SIGTERM');
      expect(await stopped(next)).toBe(0);
    }, 180_000);

    it('refuses to start empty when the bucket holds epoch paths none of which restores', async () => {
      const c = cluster();
      // An epoch path with no Litestream generation in it (what a damaged or foreign upload
      // would leave), and no lease object: the fallback lists it, finds nothing to restore.
      const bucket = databaseBucket(c);
      await bucket.put('slideshow.db/epochs/0000000005/not-a-replica', Buffer.from('x'), {
        contentType: 'application/octet-stream',
      });
      const writer = await start(c, 'unrestorable');
      expect(await stopped(writer, 60_000)).toBe(1);
      expect(writer.logs()).toContain(
        'but none could be restored; refusing to start with an empty database',
      );
      expect(existsSync(writer.databasePath)).toBe(false);
    }, 120_000);

    it('keeps the lease in the database bucket as JSON an operator can read', async () => {
      const c = cluster();
      const a = await start(c, 'readable-a');
      await waitReady(a);
      // The JSON API's media download, as `gcloud storage cat gs://BUCKET-db/slideshow.db.lease` does.
      const leaseUrl = `${emulator.endpoint}/storage/v1/b/${c.dbBucket}/o/slideshow.db.lease?alt=media`;
      const record = (await (await fetch(leaseUrl)).json()) as {
        epoch: number;
        holder: { owner: string };
      };
      expect(record.epoch).toBe(1);
      expect(record.holder.owner).toContain('/');
      a.signal('SIGTERM');
      expect(await stopped(a)).toBe(0);
      expect(await (await fetch(leaseUrl)).json()).toMatchObject({ epoch: 1, holder: null });
    });
  },
);

describe('one writer in local mode (the lease file next to the database)', () => {
  it('refuses a second `npm start` on the same data folder because of the lease', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lease-local-'));
    const { spawn } = await import('node:child_process');
    const { freePort } = await import('@slideshow/tools/stack-children');
    const main = fileURLToPath(new URL('../../apps/backend/src/main.ts', import.meta.url));
    const run = async (waitMs: string) => {
      const child = spawn(process.execPath, [main], {
        env: {
          PATH: process.env.PATH ?? '',
          METADATA_SERVER_DETECTION: 'none',
          DATA_DIR: root,
          PORT: String(await freePort()),
          DISPATCH: 'dry-run',
          ADMIN_TOKENS: TOKEN,
          LEASE_WAIT_MS: waitMs,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let logs = '';
      child.stderr?.on('data', (d: Buffer) => {
        logs += d.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      return { child, logs: () => logs, exited };
    };
    try {
      const first = await run('5000');
      for (let i = 0; i < 300 && !first.logs().includes('"backend listening"'); i++)
        await sleep(100);
      expect(first.logs()).toContain('"backend listening"');
      const second = await run('3000');
      expect(await second.exited).toBe(1);
      expect(second.logs()).toContain(
        'refusing to start: this instance could not get the database lease',
      );
      expect(second.logs()).toContain('"waiting for the database lease"');
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      // Released: the next start takes the lease at once, with the next epoch.
      const third = await run('3000');
      for (let i = 0; i < 300 && !third.logs().includes('"backend listening"'); i++)
        await sleep(100);
      expect(third.logs()).toMatch(/"backend listening".*"epoch":2/);
      third.child.kill('SIGTERM');
      expect(await third.exited).toBe(0);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
