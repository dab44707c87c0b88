/**
 * Batch ingest end to end (docs/operations.md, "Batch ingest"): the backend
 * puts ingested images in batches, each batch is one Cloud Tasks task, one
 * workflow execution with `{file_ids, generations}` and one Cloud Run job
 * execution of min(N, JOB_PARALLELISM) tasks, task i taking ids i, i + T, …
 * (`CLOUD_RUN_TASK_INDEX`, `CLOUD_RUN_TASK_COUNT`). The local stack runs one
 * task at a time (JOB_PARALLELISM=1), so each batch is one task that takes its
 * images in turn in one process. One image that keeps failing fails alone: its
 * task's retries skip the siblings already processed (one job-spec GET each),
 * so they are processed once, never re-run, and get no failure row from the
 * workflow's backstop report.
 */
import { writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FailedTaskRow, freshStack, openDb, waitForTerminal } from './helpers.ts';

type Stack = Awaited<ReturnType<typeof freshStack>>;

const BATCH_SIZE = 5;
const IMAGES = 6;

/** A small distinct JPEG (cheap for the processor on a busy machine). */
function smallJpeg(seed: number): Promise<Buffer> {
  const width = 160 + seed * 8;
  const height = 120;
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7 + seed * 31) & 255;
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 80 })
    .toBuffer();
}

async function localCloud<T>(stack: Stack, method: string, path: string): Promise<T> {
  const response = await stack.localCloud(path, { method });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

interface JobRun {
  taskCount: number;
  succeededCount?: number;
  failedCount?: number;
  retriedCount?: number;
  completionTime?: string;
}

/** The processor job's runs once `count` of them exist and all have completed (bounded). */
async function completedJobRuns(stack: Stack, count: number): Promise<JobRun[]> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { executions = [] } = await localCloud<{ executions?: JobRun[] }>(
      stack,
      'GET',
      `/v2/${stack.parent}/jobs/processor/executions`,
    );
    if (executions.length === count && executions.every((r) => r.completionTime)) {
      return executions;
    }
    if (Date.now() > deadline) {
      throw new Error(`expected ${count} completed job runs, saw ${JSON.stringify(executions)}`);
    }
    await sleep(200);
  }
}

describe('batch ingest through local-cloud', () => {
  let stack: Stack;
  beforeAll(async () => {
    // The window is longer than accepting the six files can take on a loaded machine: a
    // partial batch goes once its oldest row is a window old, so a short window could split
    // the first five while they are still being accepted.
    stack = await freshStack({
      backendEnv: { INGEST_BATCH_SIZE: String(BATCH_SIZE), INGEST_BATCH_WINDOW_MS: '10000' },
    });
  });
  afterAll(async () => {
    await stack?.dispose();
  });

  it('runs ingested images as batch executions, each batch one job task here, and fails one image alone', async () => {
    const incoming = join(stack.dataDir, 'storage', 'incoming');
    await mkdir(incoming, { recursive: true });
    for (let i = 0; i < IMAGES; i++) {
      await writeFile(join(incoming, `photo-${i}.jpg`), await smallJpeg(i));
    }
    // Held in the queue while one original is swapped after its hash was recorded: that
    // image's task then fails every attempt (a sha256 mismatch is retryable), the others not.
    const queue = `/v2/${stack.parent}/queues/image-ingest`;
    await localCloud(stack, 'POST', `${queue}:pause`);
    const response = await stack.admin('/api/admin/ingest', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prefix: 'incoming/' }),
    });
    const text = await response.text();
    expect(response.status, text).toBe(202);
    const ids = (JSON.parse(text) as { images: { id: string }[] }).images.map((i) => i.id);
    expect(ids).toHaveLength(IMAGES);
    const swapped = ids[2] as string;
    writeFileSync(join(incoming, 'photo-2.jpg'), await smallJpeg(99));
    // Both batches exist (the partial one after the batch window) before the queue runs.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { tasks } = await localCloud<{ tasks?: unknown[] }>(stack, 'GET', `${queue}/tasks`);
      if ((tasks ?? []).length === 2) break;
      if (Date.now() > deadline) throw new Error(`expected 2 ingest tasks, saw ${tasks?.length}`);
      await sleep(200);
    }
    await localCloud(stack, 'POST', `${queue}:resume`);

    const rows = await waitForTerminal(stack, ids, 300_000);
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const id of ids) {
      expect(byId.get(id)?.status, id).toBe(id === swapped ? 'failed' : 'processed');
    }

    // Two workflow executions: the full batch and the rest, each naming its images and generations.
    const { executions } = await localCloud<{
      executions: { argument: string; labels?: Record<string, string>; state: string }[];
    }>(stack, 'GET', `/v1/${stack.parent}/workflows/process-image/executions?view=FULL`);
    const arguments_ = executions.map((e) => JSON.parse(e.argument)).reverse();
    expect(arguments_).toEqual([
      { file_ids: ids.slice(0, BATCH_SIZE), generations: ids.slice(0, BATCH_SIZE).map(() => 0) },
      { file_ids: ids.slice(BATCH_SIZE), generations: [0] },
    ]);
    for (const execution of executions) {
      expect(execution.labels?.dispatch_key).toMatch(/^[0-9a-f]{32}$/);
    }
    // Two job runs of one task each (min(N, JOB_PARALLELISM=1)): the job-run quota carries
    // BATCH_SIZE images per run, and the full batch's task pays one process start per attempt
    // for its five images. That task fails (its swapped image needs a retry every attempt).
    // The swapped image is `failed` as soon as its task's last attempt reports it, but that
    // task goes on to its later images (each skipped on one GET) before it exits and its run
    // completes: wait for both runs to complete before reading their counts.
    const jobRuns = await completedJobRuns(stack, 2);
    expect(jobRuns.map((r) => r.taskCount)).toEqual([1, 1]);
    expect(jobRuns.map((r) => r.failedCount ?? 0).sort()).toEqual([0, 1]);
    expect(jobRuns.find((r) => r.failedCount === 1)?.retriedCount).toBeGreaterThan(0);

    const db = openDb(stack);
    try {
      const attempts = db
        .prepare<[], { id: string; attempts: number; generation: number }>(
          'SELECT id, attempts, generation FROM images',
        )
        .all();
      for (const row of attempts) {
        expect(row.generation, row.id).toBe(0);
        // The processor reports `started` once per attempt: siblings ran once, the swapped one
        // every attempt Cloud Run gave its task.
        if (row.id === swapped) expect(row.attempts).toBeGreaterThan(1);
        else expect(row.attempts, row.id).toBe(1);
      }
      const failures = db.prepare<[], FailedTaskRow>('SELECT * FROM failed_tasks').all();
      // The workflow reported JOB_FAILED for every id of the failed run; only the swapped image
      // has a row, and it keeps the processor's own, more precise report.
      expect(failures).toEqual([
        expect.objectContaining({
          image_id: swapped,
          source: 'processor',
          error_code: 'ORIGINAL_MISMATCH',
        }),
      ]);
    } finally {
      db.close();
    }
  }, 420_000);
});
