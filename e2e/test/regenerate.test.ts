/**
 * Regeneration end to end (docs/operations.md, "Presets and regeneration"),
 * through the real local stack: 30 images processed with one version of a
 * preset; the preset file changed and the backend restarted; a dry run whose
 * count is what then runs; a run paused and resumed, the backend killed
 * (SIGKILL) in the middle; the slideshow feed polled all along, every variant
 * it names fetched (never a half-made set); every image ends on the new
 * version and its old objects are gone after the grace period. Then the
 * runaway cap: with every original replaced (each attempt fails), a run stops
 * at its execution cap as `capped`, the old variants still serving.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminJson,
  cheapPresetFile,
  freshStack,
  openDb,
  upload,
  waitForTerminal,
} from './helpers.ts';
import { failedTrail, inFlightTrail, leftoverTrail } from './regen-trails.ts';

type Stack = Awaited<ReturnType<typeof freshStack>>;

const IMAGES = 30;
const GRACE_MS = 3_000;
const RUN_CAP = 6;

const presetFile = (webpQuality: number) => cheapPresetFile('test-v1', [96, 192], webpQuality);

/** A small distinct JPEG. */
function smallJpeg(seed: number): Promise<Buffer> {
  const width = 200 + seed;
  const height = 150;
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 13 + seed * 37 + (i >> 9)) & 255;
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 85 })
    .toBuffer();
}

interface RunView {
  id: number;
  status: string;
  reason: string | null;
  total: number;
  done: number;
  failed: number;
  cancelled: number;
  remaining: number;
  executions: number;
  etaSeconds: number | null;
  estimate: { cpuSeconds: number; costUsd: number };
  measured: { images: number; cpuSeconds: number; costUsd: number };
}

/** Waits (bounded) until `check` passes on the run. */
async function waitForRun(
  stack: Stack,
  id: number,
  check: (run: RunView) => boolean,
  timeoutMs = 180_000,
): Promise<RunView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { run } = await adminJson<{ run: RunView }>(stack, `/api/admin/regenerate/${id}`);
      if (check(run)) return run;
      if (Date.now() > deadline)
        throw new Error(
          `run ${id} never got there: ${JSON.stringify(run)}\n${inFlightTrail(stack, id)}`,
        );
    } catch (error) {
      // The backend may be down while it restarts (until the deadline); anything else is fatal.
      if (backendDownCode(error) === undefined || Date.now() > deadline) throw error;
    }
    await sleep(250);
  }
}

function versions(
  stack: Stack,
): Map<string, { version: string | null; generation: number; preset: string }> {
  const db = openDb(stack);
  try {
    const rows = db
      .prepare<
        [],
        { id: string; preset_version: string | null; generation: number; preset: string }
      >('SELECT id, preset_version, generation, preset FROM images')
      .all();
    return new Map(
      rows.map((r) => [
        r.id,
        { version: r.preset_version, generation: r.generation, preset: r.preset },
      ]),
    );
  } finally {
    db.close();
  }
}

/**
 * How a request fails while the backend is down (killed, or between two
 * processes): undici's `fetch failed` (or `terminated`, when a body was being
 * read) TypeError whose cause carries the socket's code.
 */
const BACKEND_DOWN_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

/** The socket code of a request that failed because the backend was down; undefined for any other error. */
function backendDownCode(error: unknown): string | undefined {
  if (!(error instanceof TypeError)) return undefined;
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && BACKEND_DOWN_CODES.has(code) ? code : undefined;
}

/**
 * Polls the public feed until stopped and fetches every variant URL it names:
 * a slide whose set is half made (a URL that does not answer) is recorded.
 * A poll the backend could not answer because it was down (restarted or
 * killed) is recorded in `outages` (its socket code, or `HTTP 503`) and the
 * next poll tries again; any other error ends the polling and `stop` throws it.
 */
function pollFeed(stack: Stack) {
  const broken: string[] = [];
  const outages: string[] = [];
  let polls = 0;
  let stop = false;
  const poll = async () => {
    const response = await fetch(`${stack.backendUrl}/api/slideshow`);
    if (response.status === 503) {
      outages.push('HTTP 503');
      return;
    }
    if (!response.ok)
      throw new Error(`the feed answered ${response.status}: ${await response.text()}`);
    const { images } = (await response.json()) as {
      images: { id: string; src: string | null; sources: { srcset: string }[] }[];
    };
    const urls = new Set<string>();
    for (const image of images) {
      if (image.src) urls.add(image.src);
      for (const s of image.sources)
        for (const part of s.srcset.split(', ')) urls.add(part.split(' ')[0] as string);
    }
    await Promise.all(
      [...urls].map(async (url) => {
        const media = await fetch(new URL(url, stack.backendUrl), { method: 'HEAD' });
        if (media.status !== 200) broken.push(`${url} ${media.status}`);
      }),
    );
    polls++;
  };
  const done = (async () => {
    while (!stop) {
      try {
        await poll();
      } catch (error) {
        const code = backendDownCode(error);
        if (code === undefined) throw error;
        outages.push(code);
      }
      await sleep(150);
    }
  })();
  // Held until `stop`, which rethrows it: the test fails there, not as an unhandled rejection.
  const failure = done.then(
    () => undefined,
    (error: unknown) => ({ error }),
  );
  return {
    broken,
    outages,
    polls: () => polls,
    async stop() {
      stop = true;
      const ended = await failure;
      if (ended) throw ended.error;
    },
  };
}

describe('regeneration through the local stack', () => {
  let stack: Stack;
  let presetsPath: string;
  let ids: string[];

  beforeAll(async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'e2e-presets-'));
    presetsPath = join(dir, 'presets.json');
    writeFileSync(presetsPath, presetFile(80));
    stack = await freshStack({
      backendEnv: {
        PRESETS_FILE: presetsPath,
        INGEST_BATCH_SIZE: '5',
        INGEST_BATCH_WINDOW_MS: '300',
        REGEN_INTERVAL_MS: '250',
        REGEN_RATE_PER_MINUTE: '90',
        REGEN_GRACE_MS: String(GRACE_MS),
        REGEN_MAX_EXECUTIONS_PER_RUN: '1000',
        // An item whose dispatch ended without a report fails STUCK after 20 s, with a WARNING
        // naming its execution's state, instead of holding the run for REGEN_STUCK_AFTER_MS.
        // Cannot fail a healthy item: one whose task is still queued or whose execution is
        // ACTIVE/QUEUED is left alone (apps/backend/src/regen/lost-dispatches.ts).
        REGEN_LOST_AFTER_MS: '20000',
        // Short, so the kill -9 takeover is quick (the new backend waits out the TTL), yet long
        // enough that a backend stalled for a few seconds on a loaded machine keeps its lease
        // (renewals every TTL/3; it trusts the lease until TTL − 2·TTL/15 after the last one).
        LEASE_TTL_MS: '6000',
      },
    });
  });
  afterAll(async () => {
    await stack?.dispose();
  });

  it('re-makes 30 images with a changed preset: dry run = run, pause, kill -9, never a half-made set, old objects deleted', async () => {
    const files = await Promise.all(
      Array.from({ length: IMAGES }, async (_, i) => ({
        name: `p${i}.jpg`,
        bytes: await smallJpeg(i),
      })),
    );
    ids = [];
    for (let i = 0; i < IMAGES; i += 10) ids.push(...(await upload(stack, files.slice(i, i + 10))));
    const first = await waitForTerminal(stack, ids, 240_000);
    expect(first.every((r) => r.status === 'processed')).toBe(true);
    const before = versions(stack);
    const oldVersion = before.get(ids[0] as string)?.version;
    expect(oldVersion).toMatch(/^[0-9a-f]{16}$/);

    // Change the preset (an operator edits the file and redeploys).
    writeFileSync(presetsPath, presetFile(70));
    await stack.restartBackend();

    const dry = await adminJson<{
      images: number;
      cpuSeconds: number;
      costUsd: number;
      basis: string;
      presetVersion: string;
      range: { cpuSeconds: { low: number; high: number } };
    }>(stack, '/api/admin/regenerate', { dryRun: true });
    expect(dry.images).toBe(IMAGES);
    expect(dry.presetVersion).not.toBe(oldVersion);
    expect(dry.basis).toBe('other preset versions');
    expect(dry.cpuSeconds).toBeGreaterThan(0);
    expect(dry.costUsd).toBeGreaterThan(0);
    expect(dry.range.cpuSeconds.low).toBeLessThanOrEqual(dry.cpuSeconds);
    expect(dry.range.cpuSeconds.high).toBeGreaterThanOrEqual(dry.cpuSeconds);

    const feed = pollFeed(stack);
    const { run: started } = await adminJson<{ run: RunView }>(stack, '/api/admin/regenerate', {});
    expect(started.total).toBe(dry.images);

    // Pause once a few are done: nothing more is dispatched while paused.
    await waitForRun(stack, started.id, (r) => r.done >= 4);
    const paused = (
      await adminJson<{ run: RunView }>(stack, `/api/admin/regenerate/${started.id}/pause`, {})
    ).run;
    expect(paused.status).toBe('paused');
    await sleep(1_500);
    const stillPaused = await waitForRun(stack, started.id, () => true);
    expect(stillPaused.status).toBe('paused');
    expect(stillPaused.executions).toBe(paused.executions);
    const status = (await (await fetch(`${stack.backendUrl}/status`)).json()) as {
      regeneration: { status: string; remaining: number };
    };
    expect(status.regeneration.status).toBe('paused');
    await adminJson(stack, `/api/admin/regenerate/${started.id}/resume`, {});

    // Kill the backend mid-run; the run carries on from SQLite when it is back.
    await waitForRun(stack, started.id, (r) => r.done >= 14);
    await stack.restartBackend({ hard: true });

    const finished = await waitForRun(
      stack,
      started.id,
      (r) => r.status !== 'running' && r.status !== 'paused',
    );
    await feed.stop();
    // One execution per image: a dispatch the pause withdrew before it reached the queue is
    // counted once, when it is sent after the resume. A failed item says what happened to it.
    expect(
      finished,
      finished.failed > 0 ? failedTrail(stack, started.id) : undefined,
    ).toMatchObject({
      status: 'done',
      total: IMAGES,
      done: IMAGES,
      failed: 0,
      remaining: 0,
      executions: IMAGES,
    });
    expect(feed.broken).toEqual([]);
    expect(feed.polls()).toBeGreaterThan(5);

    const after = versions(stack);
    for (const id of ids) {
      const was = before.get(id)!;
      const now = after.get(id)!;
      expect(now.version).toBe(dry.presetVersion);
      expect(now.generation).toBeGreaterThan(was.generation);
    }

    // The old objects are gone once the grace period is over (bounded wait).
    const deadline = Date.now() + GRACE_MS + 20_000;
    const leftovers = () =>
      ids.filter((id) => {
        const dir = join(stack.dataDir, 'storage', 'variants', id, 'test-v1');
        return readdirSync(dir).some((g) => g !== `g${after.get(id)!.generation}`);
      });
    while (leftovers().length > 0 && Date.now() < deadline) await sleep(250);
    const left = leftovers();
    expect(
      left,
      left.length > 0
        ? leftoverTrail(
            stack,
            left.map((id) => ({
              id,
              sets: readdirSync(join(stack.dataDir, 'storage', 'variants', id, 'test-v1')),
            })),
          )
        : undefined,
    ).toEqual([]);

    // Outputs never start processing: variants are refused as ingest sources.
    const ingest = await stack.admin('/api/admin/ingest', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prefix: 'variants/' }),
    });
    const ingested = (await ingest.json()) as { images?: { id?: string }[] };
    expect((ingested.images ?? []).filter((i) => i.id !== undefined)).toEqual([]);

    console.log(
      `regeneration of ${IMAGES} images: dry run ${dry.cpuSeconds} CPU-s (${dry.range.cpuSeconds.low}–${dry.range.cpuSeconds.high}), $${dry.costUsd} (${dry.basis}); measured ${finished.measured.cpuSeconds} CPU-s, $${finished.measured.costUsd}; ${finished.executions} executions; feed polls ${feed.polls()}, of which failed while the backend was down: ${feed.outages.length} (${[...new Set(feed.outages)].join(', ')})`,
    );
  }, 600_000);

  it('stops a run whose every image fails at its execution cap, as capped, with the old variants serving', async () => {
    // A run of its own, capped low; every original replaced so that each attempt fails.
    writeFileSync(presetsPath, presetFile(60));
    await mkdir(join(stack.dataDir, 'storage', 'originals'), { recursive: true });
    for (const id of ids) {
      await writeFile(join(stack.dataDir, 'storage', 'originals', id), await smallJpeg(500));
    }
    await stack.restartBackend();
    // A run the previous test left active (it failed mid-run) would make this one's start a 409:
    // cancelled, so that this test reports on its own behaviour, not that failure again.
    const { regeneration } = (await (await fetch(`${stack.backendUrl}/status`)).json()) as {
      regeneration: { id: number; status: string } | null;
    };
    if (regeneration?.status === 'running' || regeneration?.status === 'paused') {
      await adminJson(stack, `/api/admin/regenerate/${regeneration.id}/cancel`, {});
    }
    // A run may lower the configured caps (never raise them).
    const { run } = await adminJson<{ run: RunView }>(stack, '/api/admin/regenerate', {
      caps: { maxExecutions: RUN_CAP },
    });
    expect(run.total).toBe(IMAGES);
    const ended = await waitForRun(
      stack,
      run.id,
      (r) => r.status === 'capped' || r.status === 'done',
      300_000,
    );
    expect(ended.status).toBe('capped');
    expect(ended.reason).toMatch(/cap of 6 executions/);
    expect(ended.executions).toBe(RUN_CAP);
    expect(ended.cancelled).toBe(IMAGES - RUN_CAP);
    // The dispatched ones fail (each after Cloud Run's retries) and nothing is dispatched again.
    const settled = await waitForRun(stack, run.id, (r) => r.failed === RUN_CAP, 300_000);
    expect(settled).toMatchObject({ status: 'capped', executions: RUN_CAP, done: 0 });
    const db = openDb(stack);
    try {
      const rows = db
        .prepare<[], { source: string; n: number }>(
          `SELECT source, count(*) AS n FROM failed_tasks WHERE resolved_at IS NULL GROUP BY source`,
        )
        .all();
      expect(rows.find((r) => r.source === 'regenerate')?.n).toBeGreaterThan(0);
      const statuses = db.prepare<[], { status: string }>('SELECT status FROM images').all();
      expect(statuses.every((s) => s.status === 'processed')).toBe(true);
    } finally {
      db.close();
    }
  }, 600_000);
});
