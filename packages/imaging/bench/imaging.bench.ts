/**
 * Imaging benchmark (DESIGN §8): the web-v1 preset against a naive baseline
 * (a fresh `sharp(input)` per variant, sharp's defaults) on one 12 MP JPEG,
 * alternating rounds in one process; output bytes and block-SSIM against a
 * high-quality reference resize for both; peak RSS of ours on the 12 MP and
 * on a 50 MP JPEG, each measured in a child process of its own.
 *
 *   node bench/imaging.bench.ts [--rounds N] [--baseline-rounds N]
 *   node bench/imaging.bench.ts --child <file>   (internal: one run, prints peak RSS)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { coerceError } from '@slideshow/runtime';
import { type Figure, formatFigures, recordFigures } from '@slideshow/tools/bench-results';
import { findSharedDir } from '@slideshow/tools/shared-dir';
import sharp from 'sharp';
import { getPreset, processImage, targetWidths, type VariantOutput } from '../src/index.ts';
import { luma, ssim } from './ssim.ts';

const SHARP_DEFAULT_CONCURRENCY = sharp.concurrency();
const self = fileURLToPath(import.meta.url);

function arg(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  const value = index === -1 ? undefined : Number(process.argv[index + 1]);
  return value !== undefined && Number.isInteger(value) && value > 0 ? value : fallback;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** A photo-like 4000×3000 JPEG: smooth gradients plus noise (when ../shared is absent). */
async function generatePhoto(path: string, width: number, height: number): Promise<void> {
  const gradient = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
      <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">
        <stop offset="0" stop-color="#3a6ea5"/><stop offset="0.5" stop-color="#e0c068"/>
        <stop offset="1" stop-color="#5a3a2a"/></linearGradient></defs>
      <rect width="100%" height="100%" fill="url(#g)"/>
      <circle cx="${width / 3}" cy="${height / 2}" r="${height / 4}" fill="#c04040" opacity="0.7"/>
    </svg>`,
  );
  const noise = await sharp({
    create: {
      width,
      height,
      channels: 3,
      background: '#808080',
      noise: { type: 'gaussian', mean: 128, sigma: 24 },
    },
  })
    .png()
    .toBuffer();
  await sharp(gradient)
    .composite([{ input: noise, blend: 'overlay' }])
    .jpeg({ quality: 90 })
    .toFile(path);
}

interface Run {
  ms: number;
  outputs: { width: number; height: number; data: Buffer }[];
}

async function runOurs(input: string): Promise<Run> {
  const outputs: Run['outputs'] = [];
  const start = performance.now();
  await processImage(input, {
    write: async (v: VariantOutput) => {
      outputs.push({ width: v.width, height: v.height, data: v.data });
    },
  });
  return { ms: performance.now() - start, outputs };
}

async function runBaseline(input: string, widths: number[]): Promise<Run> {
  sharp.concurrency(SHARP_DEFAULT_CONCURRENCY);
  const outputs: Run['outputs'] = [];
  const start = performance.now();
  for (const width of widths) {
    for (const format of ['avif', 'webp', 'jpeg'] as const) {
      const { data, info } = await sharp(input)
        .autoOrient()
        .resize({ width })
        .toFormat(format)
        .toBuffer({ resolveWithObject: true });
      outputs.push({ width: info.width, height: info.height, data });
    }
  }
  return { ms: performance.now() - start, outputs };
}

/** Reference resizes by size, shared by both runs. */
const references = new Map<string, Buffer>();

async function quality(input: string, run: Run): Promise<number> {
  let total = 0;
  for (const o of run.outputs) {
    const key = `${o.width}x${o.height}`;
    let reference = references.get(key);
    if (!reference) {
      reference = await sharp(input)
        .autoOrient()
        .resize(o.width, o.height, { fit: 'fill', kernel: 'lanczos3' })
        .greyscale()
        .raw()
        .toBuffer();
      references.set(key, reference);
    }
    total += ssim(await luma(o.data, o.width, o.height), reference, o.width, o.height);
  }
  return total / run.outputs.length;
}

function childPeakRss(file: string): number {
  const result = spawnSync(process.execPath, [self, '--child', file], {
    encoding: 'utf8',
    timeout: 300_000,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const peak = Number(/peakRssMb=(\d+(\.\d+)?)/.exec(result.stdout)?.[1]);
  if (result.status !== 0 || !Number.isFinite(peak)) {
    throw new Error(`child run on ${file} failed (status ${result.status}): ${result.stdout}`);
  }
  return peak;
}

/**
 * Peak RSS of this process in MB. On Linux, VmHWM of the process's own memory
 * map: getrusage's maxRSS also counts the parent's RSS at fork time (the
 * kernel carries the old map's high-water mark across exec), which made a
 * child of this 800 MB bench report 740 MB.
 */
function peakRssMb(): number {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]);
    if (Number.isFinite(kb)) return kb / 1024;
  } catch (error) {
    // Not Linux: fall back to getrusage (an upper bound).
    process.stderr.write(`no /proc/self/status (${coerceError(error).message}); using maxRSS\n`);
  }
  return process.resourceUsage().maxRSS / 1024;
}

async function child(file: string): Promise<void> {
  await processImage(file);
  process.stdout.write(`peakRssMb=${peakRssMb().toFixed(1)}\n`);
}

async function main(): Promise<void> {
  const childIndex = process.argv.indexOf('--child');
  if (childIndex !== -1) return child(process.argv[childIndex + 1] ?? '');

  const rounds = arg('--rounds', 2);
  const baselineRounds = arg('--baseline-rounds', 2);
  const work = mkdtempSync(join(tmpdir(), 'imaging-bench-'));
  try {
    const shared = findSharedDir();
    const corpusPhoto = shared && join(shared, 'corpus/generated/photo-12mp-4000x3000.jpg');
    let input = join(work, 'photo-12mp.jpg');
    if (corpusPhoto && existsSync(corpusPhoto)) input = corpusPhoto;
    else await generatePhoto(input, 4000, 3000);
    const { width } = await sharp(input).metadata();
    const widths = targetWidths(getPreset('web-v1').widths, width);
    process.stderr.write(`input ${input}; ${rounds} rounds ours, ${baselineRounds} baseline\n`);

    const ours: Run[] = [];
    const baseline: Run[] = [];
    for (let round = 0; round < Math.max(rounds, baselineRounds); round++) {
      if (round < rounds) ours.push(await runOurs(input));
      if (round < baselineRounds) baseline.push(await runBaseline(input, widths));
      process.stderr.write(
        `round ${round + 1}: ours ${ours.at(-1)?.ms.toFixed(0)} ms, baseline ${baseline.at(-1)?.ms.toFixed(0)} ms\n`,
      );
    }
    const lastOurs = ours.at(-1) as Run;
    const lastBaseline = baseline.at(-1) as Run;
    const oursMs = median(ours.map((r) => r.ms));
    const baseMs = median(baseline.map((r) => r.ms));
    const bytes = (r: Run): number => r.outputs.reduce((sum, o) => sum + o.data.length, 0);
    const oursBytes = bytes(lastOurs);
    const baseBytes = bytes(lastBaseline);
    const oursQuality = await quality(input, lastOurs);
    const baseQuality = await quality(input, lastBaseline);
    const peak12 = childPeakRss(input);

    const big = join(work, 'photo-50mp.jpg');
    await generatePhoto(big, 8192, 6144);
    const peak50 = childPeakRss(big);

    const speedup = baseMs / oursMs;
    const figures: Figure[] = [
      {
        name: 'imaging.12mp.wall',
        value: oursMs,
        unit: 'ms',
        baseline: baseMs,
        target: null,
        met: null,
      },
      {
        name: 'imaging.12mp.speedup',
        value: speedup,
        unit: 'x',
        baseline: 1,
        target: '>= 3x',
        met: speedup >= 3,
      },
      {
        name: 'imaging.12mp.bytes',
        value: oursBytes,
        unit: 'B',
        baseline: baseBytes,
        target: '<= baseline + 5%',
        met: oursBytes <= baseBytes * 1.05,
      },
      {
        name: 'imaging.12mp.ssim',
        value: oursQuality,
        unit: 'ssim',
        baseline: baseQuality,
        target: '>= baseline',
        met: oursQuality >= baseQuality,
      },
      {
        name: 'imaging.12mp.peak_rss',
        value: peak12,
        unit: 'MB',
        baseline: null,
        target: null,
        met: null,
      },
      {
        name: 'imaging.50mp.peak_rss',
        value: peak50,
        unit: 'MB',
        baseline: null,
        target: '<= 600 MB',
        met: peak50 <= 600,
      },
    ];
    recordFigures(figures);
    process.stdout.write(`${formatFigures(figures)}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
