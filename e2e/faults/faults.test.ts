/**
 * The fault suite (docs/architecture.md#the-invariant): a few hundred uploads through the real
 * local stack while a seeded schedule kill -9s the backend, local-cloud and
 * processor attempts, the object store fails and stalls some reads and writes
 * (STORAGE_FAULTS in the backend and every processor attempt) and callbacks
 * give up early (CALLBACK_DEADLINE_MS); then everything is restarted cleanly
 * and the invariant is checked against SQLite, the storage folder and
 * /status. Reproduce a run with the seed it prints: `FAULT_SEED=… pnpm test:faults`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshStack } from '../test/helpers.ts';
import { type ChaosFigures, startChaos } from './chaos.ts';
import { pendingWork, type Verdict, verify } from './checks.ts';
import { deleteWithRetry, mapConcurrent, type UploadRecord, uploadWithRetry } from './client.ts';
import { loadFaultSuiteConfig } from './config.ts';
import { createRandom, makeCorpus } from './corpus.ts';
import { FAULT_ENTRIES } from './entries.ts';
import { findPids } from './processes.ts';

const config = loadFaultSuiteConfig();
const say = (line: string) => process.stdout.write(`[faults] ${line}\n`);

type Stack = Awaited<ReturnType<typeof freshStack>>;

/** Waits (bounded) until nothing is left to do: every row terminal, outbox empty, no attempt running. */
async function waitForQuiescence(stack: Stack, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let quietPolls = 0;
  while (Date.now() < deadline) {
    const { unfinished, outbox } = pendingWork(stack.dataDir);
    const running = findPids('processor', `BACKEND_API_URL=${stack.backendUrl}`).length;
    quietPolls = unfinished === 0 && outbox === 0 && running === 0 ? quietPolls + 1 : 0;
    if (quietPolls >= 3) return true;
    await sleep(1_000);
  }
  return false;
}

/** Age at which the backend's sweeper deletes stored objects that have no row. */
const ORPHAN_GRACE_MS = 10_000;

describe(`the pipeline under kill -9, storage faults and callback timeouts (seed ${config.seed})`, () => {
  let stack: Stack;
  let records: UploadRecord[] = [];
  const deleted = new Set<string>();
  let chaos: ChaosFigures;
  let verdict: Verdict;
  let quiet = false;

  beforeAll(async () => {
    say(`seed ${config.seed} (reproduce with FAULT_SEED=${config.seed}), ${config.images} images`);
    const started = Date.now();
    const corpus = await makeCorpus(config.images, config.seed);
    const faults = `seed=${config.seed},fail=0.03,stall=0.03,stallMs=3000`;
    stack = await freshStack({
      // The entries that honour STORAGE_FAULTS (production ones ignore it).
      entries: FAULT_ENTRIES,
      maxRetries: 3,
      taskTimeoutSeconds: 180,
      backendEnv: {
        STORAGE_FAULTS: faults,
        STUCK_AFTER_MS: '45000',
        REAPER_INTERVAL_MS: '2000',
        // The orphan sweeper removes originals of uploads cut by a kill (stored,
        // but the row never committed) once they are this old.
        ORPHAN_GRACE_MS: String(ORPHAN_GRACE_MS),
        ORPHAN_SWEEP_INTERVAL_MS: '2000',
      },
      // A callback that cannot reach the backend within 3 s fails the attempt (retryable).
      processorEnv: { STORAGE_FAULTS: faults, CALLBACK_DEADLINE_MS: '3000' },
    });
    // Fewer attempts at once on a 2-core machine: the queue's rate bounds how many run together.
    const patched = await stack.localCloud(
      `/v2/${stack.parent}/queues/image-uploads?updateMask=rateLimits.maxDispatchesPerSecond`,
      {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ rateLimits: { maxDispatchesPerSecond: 3 } }),
      },
    );
    if (!patched.ok)
      throw new Error(`patching the queue answered ${patched.status}: ${await patched.text()}`);
    const chaosRun = startChaos(stack, {
      seed: config.seed,
      minGapMs: 3_000,
      maxGapMs: 8_000,
      log: say,
    });
    const random = createRandom(config.seed ^ 0xde1e7e);
    const deadline = started + config.chaosMs;
    const deletions: Promise<void>[] = [];
    records = await mapConcurrent(corpus, 6, async (file) => {
      const record = await uploadWithRetry(stack, file, deadline + 60_000);
      const id = record.ids[0];
      if (id && random() < 0.06) {
        // Some deletes land while the image is still in flight, some after it finished.
        const delay = random() * 5_000;
        deletions.push(
          sleep(delay).then(async () => {
            if (await deleteWithRetry(stack, id, deadline + 60_000)) deleted.add(id);
          }),
        );
      }
      return record;
    });
    await Promise.all(deletions);
    say(`uploads done after ${((Date.now() - started) / 1000).toFixed(0)} s`);
    // Keep killing while processing is in flight, at least 15 s after the last upload.
    await sleep(Math.max(15_000, deadline - Date.now()));
    chaos = await chaosRun.stop();
    say('chaos over; restarting everything cleanly');
    await stack.restartLocalCloud();
    await stack.restartBackend();
    quiet = await waitForQuiescence(stack, config.settleMs);
    // Give the sweeper one grace period and two passes over what the kills left.
    await sleep(ORPHAN_GRACE_MS + 4_000);
    verdict = await verify(stack, records, deleted);
    const restarts = chaos.backendKills + chaos.localCloudKills + 2;
    say(
      `figures: uploads accepted ${verdict.uploadsAccepted} (${verdict.acceptedByReconciliation} by sha256 reconciliation), ` +
        `refused ${verdict.refused}, deleted ${verdict.deleted}, processed ${verdict.processed}, ` +
        `failed ${verdict.failed} ${JSON.stringify(verdict.failedBySource)} ${JSON.stringify(verdict.failedByCode)}, lost ${verdict.lost}, ` +
        `duplicated ${verdict.duplicated}, restarts survived ${restarts} ` +
        `(backend ${chaos.backendKills}, local-cloud ${chaos.localCloudKills} kill -9s, 2 clean), ` +
        `processor attempts killed ${chaos.processorKills}, variant mismatches ${verdict.variantMismatches}, ` +
        `orphaned objects ${verdict.orphanedObjects}, originals of uploads cut by a kill ${verdict.interruptedUploadOriginals}, stale generation folders ${verdict.staleGenerationFolders}, ` +
        `quiescent ${quiet}, ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
    for (const problem of verdict.problems.slice(0, 40)) say(`problem: ${problem}`);
  }, 600_000);

  afterAll(async () => {
    if (config.keepData) {
      await stack?.stop();
      say(`data kept in ${stack?.dataDir}`);
    } else {
      await stack?.dispose();
    }
  });

  it('reaches quiescence after the faults stop', () => {
    expect(quiet).toBe(true);
  });

  it('ends every accepted upload processed or with a failed_tasks row (lost = 0)', () => {
    expect(verdict.uploadsAccepted).toBeGreaterThan(config.images / 2);
    expect(verdict.lost, verdict.problems.join('\n')).toBe(0);
  });

  it('never answers two ids for one content (duplicated = 0)', () => {
    expect(verdict.duplicated, verdict.problems.join('\n')).toBe(0);
  });

  it('keeps the variant files on disk equal to the recorded variants', () => {
    expect(verdict.processed).toBeGreaterThan(0);
    expect(verdict.variantMismatches, verdict.problems.join('\n')).toBe(0);
  });

  it('leaves no orphaned originals or variants for deleted or refused images', () => {
    expect(verdict.orphanedObjects, verdict.problems.join('\n')).toBe(0);
  });

  it('sweeps the originals of uploads cut off by a kill before their row was written', () => {
    expect(verdict.interruptedUploadOriginals).toBe(0);
  });

  it('answers /status in agreement with the database', () => {
    expect(verdict.statusAgrees, verdict.problems.join('\n')).toBe(true);
  });

  it('survived at least one kill -9 of the backend and of local-cloud', () => {
    expect(chaos.backendKills + chaos.localCloudKills).toBeGreaterThanOrEqual(2);
  });

  it('finds nothing else wrong (refusals, corrupt files, deletes)', () => {
    expect(verdict.problems).toEqual([]);
  });
});
