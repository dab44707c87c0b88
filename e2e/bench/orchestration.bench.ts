/**
 * Orchestration overhead (docs/performance.md#targets): 100 small images through the
 * whole local stack (backend → Cloud Tasks → Workflows → Cloud Run job →
 * processor process → callbacks) against the processor's own work on the same
 * images in the same run.
 *
 * - baseline: the processor's work per image — `processImage` with the same
 *   preset, variants written to a folder — one image after another in this
 *   process (sharp already uses both cores per image);
 * - stack: wall time from the first upload (or the ingest request) to the
 *   last image `processed`, through both ways 100 images enter the pipeline:
 *   - upload: 10 admin uploads of 10 files, one workflow and job execution per
 *     image (the interactive path);
 *   - ingest: the files put in the bucket and one ingest request, which the
 *     relay dispatches as one batch execution (docs/architecture.md#batches-and-quotas).
 * overhead = stack / baseline − 1 (target ≤ 50 %). The profile beside it, in
 * CPU time (independent of other load on the machine): the processor
 * processes' own CPU (their 'processor finished' log line), of which start-up
 * up to the original's read ('reading original'), and the backend's and
 * local-cloud's CPU over the run (/proc/<pid>/stat of the two processes that
 * carry this run's data folder), against the baseline's CPU.
 *
 *   cd e2e && node bench/orchestration.bench.ts [--images 100] [--path upload|ingest|both]
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { DEFAULT_PRESET, processImage } from '@slideshow/imaging';
import { type Figure, formatFigures, recordFigures } from '@slideshow/tools/bench-results';
import { startLocalStack } from '@slideshow/tools/local-stack';
import Database from 'better-sqlite3';
import sharp from 'sharp';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '100' },
    path: { type: 'string', default: 'both' },
  },
});
const COUNT = Number(values.images);
/** How the images enter the pipeline. */
type EntryPath = 'upload' | 'ingest';
const PATHS: EntryPath[] =
  values.path === 'both' ? ['upload', 'ingest'] : [values.path as EntryPath];
if (!PATHS.every((p) => p === 'upload' || p === 'ingest')) {
  throw new Error(`--path must be upload, ingest or both, not ${values.path}`);
}
const DRAIN_LIMIT_MS = 20 * 60_000;

/** Distinct small photo-like JPEGs (480×320), made here. */
async function makeImages(count: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const width = 480;
    const height = 320;
    const pixels = Buffer.alloc(width * height * 3);
    for (let p = 0; p < width * height; p++) {
      const x = p % width;
      const y = Math.floor(p / width);
      pixels[p * 3] = (i * 37 + x) & 255;
      pixels[p * 3 + 1] = (i * 11 + y * 2) & 255;
      pixels[p * 3 + 2] = ((x ^ y) + i) & 255;
    }
    out.push(
      await sharp(pixels, { raw: { width, height, channels: 3 } })
        .jpeg({ quality: 85 })
        .toBuffer(),
    );
  }
  return out;
}

/** CPU milliseconds (user + system) of a process, from /proc/<pid>/stat (USER_HZ = 100 on Linux). */
function processCpuMs(pid: string): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The backend and local-cloud processes of this run: the ones whose environment names `dataDir`. */
function stackProcesses(dataDir: string): string[] {
  if (!existsSync('/proc/self/stat')) return [];
  const pids: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'utf8').includes(dataDir)) pids.push(pid);
    } catch (error) {
      // Another user's process, or one that exited meanwhile: not ours.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EACCES' && code !== 'EPERM' && code !== 'ENOENT' && code !== 'ESRCH') {
        throw error;
      }
    }
  }
  return pids.filter((pid) => pid !== String(process.pid));
}

/**
 * Sum of the processor processes' CPU ('processor finished', one line per
 * task process) and of their start-up CPU (the process's CPU at its first
 * 'reading original'), from local-cloud's log, where each line names the
 * execution, task and attempt — one process.
 */
function processorCpu(dataDir: string): {
  totalMs: number;
  startupMs: number;
  tasks: number;
  /** Processes that read an original: each logs its finish once it exits. */
  started: number;
} {
  let totalMs = 0;
  let startupMs = 0;
  let tasks = 0;
  const started = new Set<string>();
  for (const line of readFileSync(join(dataDir, 'logs', 'local-cloud.log'), 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    const outer = JSON.parse(line) as {
      execution?: string;
      task?: number;
      attempt?: number;
      jsonPayload?: Record<string, unknown>;
    };
    const payload = outer.jsonPayload;
    const key = `${outer.execution}/${outer.task}/${outer.attempt}`;
    if (payload?.message === 'processor finished') {
      totalMs += Number(payload.cpuMs ?? 0);
      tasks += 1;
    } else if (payload?.message === 'reading original' && !started.has(key)) {
      started.add(key);
      startupMs += Number(payload.cpuMs ?? 0);
    }
  }
  return { totalMs, startupMs, tasks, started: started.size };
}

async function baseline(images: Buffer[], dir: string): Promise<number> {
  const start = performance.now();
  for (const [i, image] of images.entries()) {
    const out = join(dir, String(i));
    mkdirSync(out, { recursive: true });
    await processImage(image, {
      write: async (v) => writeFileSync(join(out, v.suffix), v.data),
    });
  }
  return performance.now() - start;
}

/** Admin uploads of 10 files per request, as the admin page sends them: one execution per image. */
async function upload(
  stack: Awaited<ReturnType<typeof startLocalStack>>,
  images: Buffer[],
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < images.length; i += 10) {
    const form = new FormData();
    for (const [j, image] of images.slice(i, i + 10).entries()) {
      form.append('file', new Blob([new Uint8Array(image)]), `bench-${i + j}.jpg`);
    }
    const response = await stack.admin('/api/admin/upload', { method: 'POST', body: form });
    if (response.status !== 202)
      throw new Error(`upload answered ${response.status}: ${await response.text()}`);
    const body = (await response.json()) as { images: { id: string }[] };
    ids.push(...body.images.map((image) => image.id));
  }
  return ids;
}

/** The files put in the bucket (the storage folder) and one ingest request: batch executions. */
async function ingest(
  stack: Awaited<ReturnType<typeof startLocalStack>>,
  images: Buffer[],
  dataDir: string,
): Promise<string[]> {
  const incoming = join(dataDir, 'storage', 'incoming');
  mkdirSync(incoming, { recursive: true });
  for (const [i, image] of images.entries()) {
    writeFileSync(join(incoming, `bench-${String(i).padStart(4, '0')}.jpg`), image);
  }
  const response = await stack.admin('/api/admin/ingest', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prefix: 'incoming/' }),
  });
  if (response.status !== 202)
    throw new Error(`ingest answered ${response.status}: ${await response.text()}`);
  const body = (await response.json()) as { images: { id: string }[] };
  return body.images.map((image) => image.id);
}

async function throughStack(
  images: Buffer[],
  dataDir: string,
  path: EntryPath,
): Promise<{
  wallMs: number;
  reportedMs: number;
  stackCpuMs: number;
  processor: ReturnType<typeof processorCpu>;
}> {
  // Full batches: with fewer images than INGEST_BATCH_SIZE (100) the relay would hold the
  // partial batch for its window (INGEST_BATCH_WINDOW_MS) before dispatching it.
  const backendEnv: Record<string, string> =
    path === 'ingest' && images.length < 100 ? { INGEST_BATCH_SIZE: String(images.length) } : {};
  const stack = await startLocalStack({ dataDir, backendEnv });
  try {
    const pids = stackProcesses(dataDir);
    const cpuBefore = pids.map(processCpuMs);
    const start = performance.now();
    // Writing the files into the bucket is part of an ingest's time, as an upload's transfer is.
    const ids =
      path === 'upload' ? await upload(stack, images) : await ingest(stack, images, dataDir);
    if (ids.length !== images.length)
      throw new Error(`expected ${images.length} ids, got ${ids.length}`);
    const db = new Database(join(dataDir, 'slideshow.db'), { readonly: true });
    try {
      const deadline = Date.now() + DRAIN_LIMIT_MS;
      for (;;) {
        const row = db
          .prepare<[], { done: number; failed: number }>(
            "SELECT SUM(status = 'processed') AS done, SUM(status = 'failed') AS failed FROM images",
          )
          .get();
        if ((row?.done ?? 0) + (row?.failed ?? 0) >= ids.length) {
          if (row?.failed) throw new Error(`${row.failed} images failed`);
          break;
        }
        if (Date.now() > deadline)
          throw new Error(`only ${row?.done} of ${ids.length} processed in time`);
        await sleep(100);
      }
      const wallMs = performance.now() - start;
      const stackCpuMs = pids.reduce(
        (sum, pid, i) => sum + processCpuMs(pid) - (cpuBefore[i] ?? 0),
        0,
      );
      let reportedMs = 0;
      for (const { timings } of db
        .prepare<[], { timings: string | null }>('SELECT timings FROM images')
        .all()) {
        const t = JSON.parse(timings ?? '{}') as Record<string, number>;
        reportedMs += t.total ?? Object.values(t).reduce((a, b) => a + b, 0);
      }
      // The last tasks' log lines land after their image is processed: wait until every
      // process that read an original has logged its finish (bounded).
      let processor = processorCpu(dataDir);
      for (
        let i = 0;
        i < 50 && !(processor.tasks > 0 && processor.tasks >= processor.started);
        i++
      ) {
        await sleep(100);
        processor = processorCpu(dataDir);
      }
      return { wallMs, reportedMs, stackCpuMs, processor };
    } finally {
      db.close();
    }
  } finally {
    await stack.stop();
  }
}

/** The figures of one entry path against the baseline measured in the same run. */
function pathFigures(
  path: EntryPath,
  run: {
    wallMs: number;
    reportedMs: number;
    stackCpuMs: number;
    processor: ReturnType<typeof processorCpu>;
    loadStart: number;
    loadEnd: number;
  },
  base: { baseMs: number; baseCpuMs: number },
): Figure[] {
  const { wallMs, reportedMs, stackCpuMs, processor, loadStart, loadEnd } = run;
  const { baseMs, baseCpuMs } = base;
  const overhead = wallMs / baseMs - 1;
  const cpuOverhead = (processor.totalMs + stackCpuMs) / baseCpuMs - 1;
  const name = (what: string): string => `local stack (${path}): ${what}`;
  return [
    {
      name: name(`${COUNT} small images wall time`),
      value: wallMs / 1000,
      unit: 's',
      baseline: baseMs / 1000,
      target: null,
      met: null,
    },
    {
      name: name('orchestration overhead vs processor work'),
      value: overhead * 100,
      unit: '%',
      baseline: 0,
      target: '<= 50 %',
      met: overhead <= 0.5,
    },
    {
      name: name(
        'orchestration overhead in CPU time (processor tasks + backend + local-cloud vs processor work)',
      ),
      value: cpuOverhead * 100,
      unit: '%',
      baseline: 0,
      target: null,
      met: null,
    },
    {
      name: name('processor processes (baseline: images)'),
      value: processor.tasks,
      unit: 'processes',
      baseline: COUNT,
      target: null,
      met: null,
    },
    {
      name: name(
        'CPU per image — processor tasks (start-up to the first read in brackets as baseline)',
      ),
      value: processor.totalMs / COUNT,
      unit: 'ms',
      baseline: processor.startupMs / COUNT,
      target: null,
      met: null,
    },
    {
      name: name(
        'CPU per image — backend + local-cloud (baseline: processor work per image in one process)',
      ),
      value: stackCpuMs / COUNT,
      unit: 'ms',
      baseline: baseCpuMs / COUNT,
      target: null,
      met: null,
    },
    {
      name: name('load average at start / end'),
      value: loadStart,
      unit: 'load',
      baseline: loadEnd,
      target: null,
      met: null,
    },
    {
      name: name('processing time reported by the processor (sum)'),
      value: reportedMs / 1000,
      unit: 's',
      baseline: baseMs / 1000,
      target: null,
      met: null,
    },
  ];
}

const dir = mkdtempSync(join(tmpdir(), 'orchestration-bench-'));
try {
  process.stderr.write(`orchestration bench: ${COUNT} images (480×320 JPEG), ${DEFAULT_PRESET}\n`);
  const images = await makeImages(COUNT);
  const cpuStart = process.cpuUsage();
  const baseMs = await baseline(images, join(dir, 'baseline'));
  const baseCpu = process.cpuUsage(cpuStart);
  const baseCpuMs = (baseCpu.user + baseCpu.system) / 1000;
  process.stderr.write(
    `  baseline (processor work in one process): ${(baseMs / 1000).toFixed(1)} s\n`,
  );
  const figures: Figure[] = [];
  for (const path of PATHS) {
    const loadStart = loadavg()[0] ?? 0;
    const { wallMs, reportedMs, stackCpuMs, processor } = await throughStack(
      images,
      join(dir, `stack-${path}`),
      path,
    );
    const loadEnd = loadavg()[0] ?? 0;
    process.stderr.write(
      `  whole local stack (${path}): ${(wallMs / 1000).toFixed(1)} s; ${processor.tasks} processor processes; CPU: processor tasks ${(processor.totalMs / 1000).toFixed(1)} s (start-up ${(processor.startupMs / 1000).toFixed(1)} s), backend + local-cloud ${(stackCpuMs / 1000).toFixed(1)} s, baseline ${(baseCpuMs / 1000).toFixed(1)} s; load ${loadStart.toFixed(1)} → ${loadEnd.toFixed(1)}\n`,
    );
    figures.push(
      ...pathFigures(
        path,
        { wallMs, reportedMs, stackCpuMs, processor, loadStart, loadEnd },
        { baseMs, baseCpuMs },
      ),
    );
  }
  recordFigures(figures);
  console.log(formatFigures(figures));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
