/**
 * Orchestration overhead (issue 5, DESIGN §8): 100 small images through the
 * whole local stack (backend → Cloud Tasks → Workflows → Cloud Run job →
 * processor process → callbacks) against the processor's own work on the same
 * images in the same run.
 *
 * - baseline: the processor's work per image — `processImage` with the same
 *   preset, variants written to a folder — one image after another in this
 *   process (sharp already uses both cores per image);
 * - stack: wall time from the first upload to the last image `processed`.
 * overhead = stack / baseline − 1 (target ≤ 30%). The per-image processing
 * time the processor itself reports (timings in the result) is printed too,
 * so the cost of process start, dispatch and callbacks can be read off.
 *
 *   cd e2e && node bench/orchestration.bench.ts [--images 100]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { DEFAULT_PRESET, processImage } from '@slideshow/imaging';
import { type Figure, formatFigures, recordFigures } from '@slideshow/tools/bench-results';
import { startLocalStack } from '@slideshow/tools/local-stack';
import Database from 'better-sqlite3';
import sharp from 'sharp';

const { values } = parseArgs({ options: { images: { type: 'string', default: '100' } } });
const COUNT = Number(values.images);
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

async function throughStack(
  images: Buffer[],
  dataDir: string,
): Promise<{ wallMs: number; reportedMs: number }> {
  const stack = await startLocalStack({ dataDir });
  try {
    const start = performance.now();
    const ids: string[] = [];
    // Upload in batches of 10 files per request, as the admin page would.
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
      let reportedMs = 0;
      for (const { timings } of db
        .prepare<[], { timings: string | null }>('SELECT timings FROM images')
        .all()) {
        const t = JSON.parse(timings ?? '{}') as Record<string, number>;
        reportedMs += t.total ?? Object.values(t).reduce((a, b) => a + b, 0);
      }
      return { wallMs, reportedMs };
    } finally {
      db.close();
    }
  } finally {
    await stack.stop();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'orchestration-bench-'));
try {
  process.stderr.write(`orchestration bench: ${COUNT} images (480×320 JPEG), ${DEFAULT_PRESET}\n`);
  const images = await makeImages(COUNT);
  const baseMs = await baseline(images, join(dir, 'baseline'));
  process.stderr.write(
    `  baseline (processor work in one process): ${(baseMs / 1000).toFixed(1)} s\n`,
  );
  const { wallMs, reportedMs } = await throughStack(images, join(dir, 'stack'));
  process.stderr.write(`  whole local stack: ${(wallMs / 1000).toFixed(1)} s\n`);
  const overhead = wallMs / baseMs - 1;
  const figures: Figure[] = [
    {
      name: 'local stack: 100 images wall time',
      value: wallMs / 1000,
      unit: 's',
      baseline: baseMs / 1000,
      target: null,
      met: null,
    },
    {
      name: 'local stack: orchestration overhead vs processor work',
      value: overhead * 100,
      unit: '%',
      baseline: 0,
      target: '<= 30 %',
      met: overhead <= 0.3,
    },
    {
      name: 'local stack: processing time reported by the processor (sum)',
      value: reportedMs / 1000,
      unit: 's',
      baseline: baseMs / 1000,
      target: null,
      met: null,
    },
  ];
  recordFigures(figures);
  console.log(formatFigures(figures));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
