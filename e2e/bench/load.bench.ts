/**
 * Load benchmark (docs/reliability.md#load): N concurrent uploads (N = 50, then 200) of mixed
 * sizes through the admin API of a real local stack. Reports accepted/s,
 * upload latency p50/p99, the time until every image is processed or failed
 * (queue drained), the backend's and the processor attempts' peak RSS (from
 * /proc/<pid>/status), and errors, which must be 0 beyond the deliberate
 * refusals (one SVG per round). Figures go to bench/results/latest.json.
 *
 *   cd e2e && node bench/load.bench.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { coerceError } from '@slideshow/runtime';
import { type Figure, formatFigures, recordFigures } from '@slideshow/tools/bench-results';
import { type LocalStack, startLocalStack } from '@slideshow/tools/local-stack';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { mapConcurrent } from '../faults/client.ts';
import { createRandom } from '../faults/corpus.ts';
import { findPids, memoryOf } from '../faults/processes.ts';

const ROUNDS = [50, 200] as const;
/** Longest wait for one round's queue to drain; past it the round reports what finished. */
const DRAIN_LIMIT_MS = 150_000;

interface File {
  name: string;
  bytes: Buffer;
  refuse: boolean;
}

/** Mixed sizes: 60% thumbnails (96–320 px), 30% medium (640–1024 px), 10% large (1600 px). */
async function makeFiles(count: number, seed: number): Promise<File[]> {
  const random = createRandom(seed);
  const files: File[] = [];
  for (let i = 0; i < count; i++) {
    const roll = random();
    const width =
      roll < 0.6
        ? 96 + Math.floor(random() * 224)
        : roll < 0.9
          ? 640 + Math.floor(random() * 384)
          : 1600;
    const height = Math.round(width * 0.66);
    // A seeded gradient with mild noise: distinct bytes per file, photo-like compressibility.
    const pixels = Buffer.alloc(width * height * 3);
    const [r, g, b] = [random() * 255, random() * 255, random() * 255];
    for (let p = 0; p < width * height; p++) {
      const x = p % width;
      const y = Math.floor(p / width);
      const n = Math.floor(random() * 16) - 8;
      pixels[p * 3] = (r + (x * 255) / width + n) & 255;
      pixels[p * 3 + 1] = (g + (y * 255) / height + n) & 255;
      pixels[p * 3 + 2] = (b + ((x + y) * 128) / width + n) & 255;
    }
    const noise = await sharp(pixels, { raw: { width, height, channels: 3 } })
      .jpeg({ quality: 85 })
      .toBuffer();
    files.push({ name: `load-${seed}-${i}.jpg`, bytes: noise, refuse: false });
  }
  const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg"><!-- ${seed} --></svg>`);
  files.push({ name: `refused-${seed}.svg`, bytes: svg, refuse: true });
  return files;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** Samples RSS every 200 ms: the backend's current/peak, and the highest peak of any processor attempt. */
function startRssSampler(stack: LocalStack): {
  stop(): { backendPeakMb: number; processorPeakMb: number };
} {
  let backendPeakMb = 0;
  let processorPeakMb = 0;
  const timer = setInterval(() => {
    for (const pid of findPids('backend', `DATA_DIR=${stack.dataDir}`)) {
      backendPeakMb = Math.max(backendPeakMb, memoryOf(pid)?.peakMb ?? 0);
    }
    for (const pid of findPids('processor', `BACKEND_API_URL=${stack.backendUrl}`)) {
      processorPeakMb = Math.max(processorPeakMb, memoryOf(pid)?.peakMb ?? 0);
    }
  }, 200);
  return {
    stop() {
      clearInterval(timer);
      return { backendPeakMb, processorPeakMb };
    },
  };
}

async function uploadOne(
  stack: LocalStack,
  file: File,
): Promise<{ ms: number; status: number; id?: string }> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(file.bytes)]), file.name);
  const start = performance.now();
  try {
    const response = await stack.admin('/api/admin/upload', { method: 'POST', body: form });
    const body = (await response.json()) as { images?: { id?: string; error?: unknown }[] };
    const entry = body.images?.[0];
    const ms = performance.now() - start;
    return entry?.id && !entry.error
      ? { ms, status: response.status, id: entry.id }
      : { ms, status: response.status };
  } catch (error) {
    process.stderr.write(`upload of ${file.name} failed: ${coerceError(error).message}\n`);
    return { ms: performance.now() - start, status: 0 };
  }
}

async function waitForDrain(
  stack: LocalStack,
  ids: string[],
  limitMs: number,
): Promise<{ ms: number; done: number }> {
  const db = new Database(join(stack.dataDir, 'slideshow.db'), { readonly: true });
  const start = performance.now();
  try {
    const placeholders = ids.map(() => '?').join(',');
    const query = db.prepare<string[], { n: number }>(
      `SELECT count(*) AS n FROM images WHERE id IN (${placeholders}) AND status IN ('processed', 'failed')`,
    );
    for (;;) {
      const done = query.get(...ids)?.n ?? 0;
      if (done === ids.length || performance.now() - start > limitMs) {
        return { ms: performance.now() - start, done };
      }
      await sleep(250);
    }
  } finally {
    db.close();
  }
}

async function round(stack: LocalStack, n: number): Promise<Figure[]> {
  const files = await makeFiles(n, n * 7919);
  const sampler = startRssSampler(stack);
  const started = performance.now();
  const results = await mapConcurrent(files, files.length, (file) => uploadOne(stack, file));
  const uploadMs = performance.now() - started;
  const accepted = results.filter((r) => r.status === 202 && r.id);
  const refusedAsIntended = results.filter((r, i) => files[i]?.refuse && r.status === 415).length;
  const errors = results.length - accepted.length - refusedAsIntended;
  const latencies = results.map((r) => r.ms).sort((a, b) => a - b);
  const drain = await waitForDrain(
    stack,
    accepted.map((r) => r.id as string),
    DRAIN_LIMIT_MS,
  );
  const drainMs = uploadMs + drain.ms;
  const memory = sampler.stop();
  const megabytes = files.reduce((sum, f) => sum + f.bytes.length, 0) / 1e6;
  process.stdout.write(
    `N=${n}: ${accepted.length} accepted, ${refusedAsIntended} refused on purpose, ${errors} errors, ` +
      `${megabytes.toFixed(1)} MB in ${(uploadMs / 1000).toFixed(1)} s; drained ${drain.done}/${accepted.length} ` +
      `in ${(drainMs / 1000).toFixed(1)} s\n`,
  );
  const figure = (
    name: string,
    value: number,
    unit: string,
    target: string | null = null,
    met: boolean | null = null,
  ): Figure => ({
    name: `e2e load N=${n}: ${name}`,
    value,
    unit,
    baseline: null,
    target,
    met,
  });
  return [
    figure('accepted uploads/s', accepted.length / (uploadMs / 1000), '/s'),
    figure('upload latency p50', percentile(latencies, 50), 'ms'),
    figure('upload latency p99', percentile(latencies, 99), 'ms'),
    figure(
      'queue drained (first upload → all terminal)',
      drainMs / 1000,
      's',
      `all ${accepted.length} within ${((uploadMs + DRAIN_LIMIT_MS) / 1000) | 0} s`,
      drain.done === accepted.length,
    ),
    figure('images drained', drain.done, 'images'),
    figure('backend peak RSS', memory.backendPeakMb, 'MB'),
    figure('processor attempt peak RSS (max)', memory.processorPeakMb, 'MB'),
    figure('errors beyond deliberate refusals', errors, 'count', '0', errors === 0),
  ];
}

const dataDir = mkdtempSync(join(tmpdir(), 'e2e-load-'));
const stack = await startLocalStack({ dataDir });
try {
  const figures: Figure[] = [];
  for (const n of ROUNDS) figures.push(...(await round(stack, n)));
  recordFigures(figures);
  process.stdout.write(`${formatFigures(figures)}\n`);
} finally {
  await stack.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
