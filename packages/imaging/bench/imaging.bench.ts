/**
 * Imaging benchmark: the candidate preset (web-v3, or `--candidate NAME`) against today's
 * (web-v1), measured in the same process, image by image, over a corpus of
 * seven kinds of image (bench/corpus.ts):
 * - time: wall and CPU (process.cpuUsage, all threads) of processImage for
 *   the whole variant set, rounds interleaved (v1, v3, v3, v1, …) so both see
 *   the same machine (at least 3 rounds, up to 7 for small images); medians;
 *   the load average is recorded with them.
 * - bytes: total of every variant.
 * - quality, per variant, against a reference made from the same source (the
 *   full decode, Lanczos-3 resized to the variant's size, never compressed):
 *   SSIMULACRA 2 (src/ssimulacra2.ts, mean per format), block SSIM on luma,
 *   and butteraugli at the variant nearest 1280 px when `butteraugli_main`
 *   is available (bench/butteraugli.ts).
 * - memory: peak RSS (VmHWM) of one candidate run in a fresh child process, on
 *   the 12 MP photo and on a generated 50 MP JPEG, with MALLOC_ARENA_MAX=2
 *   as the processor's image sets.
 * Targets: median over the images of the candidate wall ≤ 0.5× web-v1, bytes ≤ web-v1, every
 * format's mean SSIMULACRA 2 ≥ web-v1's; 50 MP peak RSS ≤ 600 MB.
 *
 *   node bench/imaging.bench.ts [--rounds N] [--only a,b] [--skip-rss]
 *   node bench/imaging.bench.ts --child <file> <preset>   (internal)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { coerceError } from '@slideshow/runtime';
import { type Figure, formatFigures, recordFigures } from '@slideshow/tools/bench-results';
import { seededGrain } from '@slideshow/tools/seeded-grain';
import { findSharedDir } from '@slideshow/tools/shared-dir';
import sharp from 'sharp';
import { processImage, type VariantOutput } from '../src/index.ts';
import type { FormatChoice } from '../src/quality-search.ts';
import { compareToReference, prepareReference } from '../src/ssimulacra2.ts';
import { butteraugli, ensureButteraugli } from './butteraugli.ts';
import { buildCorpus, type CorpusImage } from './corpus.ts';
import {
  corpusFigures,
  figuresFor,
  type ImageResult,
  loadFigures,
  markdownTable,
  median,
  perWidthLines,
  type Quality,
} from './imaging-report.ts';
import { luma, ssim } from './ssim.ts';

const BASELINE = 'web-v1';
const CANDIDATE = argValue('--candidate') ?? 'web-v3';
const self = fileURLToPath(import.meta.url);
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

function argValue(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index === -1 ? undefined : process.argv[index + 1];
}

interface Run {
  wallMs: number;
  cpuMs: number;
  outputs: VariantOutput[];
  choices: FormatChoice[];
}

async function runPreset(file: string, preset: string): Promise<Run> {
  const outputs: VariantOutput[] = [];
  let choices: FormatChoice[] = [];
  const cpu = process.cpuUsage();
  const start = performance.now();
  await processImage(file, {
    preset,
    write: async (v) => {
      outputs.push(v);
    },
    onQualityChoice: (c) => {
      choices = c;
    },
  });
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuMs: (used.user + used.system) / 1000, outputs, choices };
}

/** Scores every variant of both runs against references made from the full decode. */
async function measureQuality(
  image: CorpusImage,
  runs: Run[],
  tool: string | undefined,
  work: string,
): Promise<Quality[]> {
  const full = await sharp(image.file)
    .autoOrient()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const alpha = runs.some((r) => r.outputs.some((o) => o.format === 'png'));
  const channels = alpha ? 4 : 3;
  const base = sharp(full.data, { raw: full.info });
  const source = alpha ? base.ensureAlpha() : base.removeAlpha();
  const sourcePixels = await source.raw().toBuffer({ resolveWithObject: true });
  const results: Quality[] = runs.map(() => new Map());
  const sizes = [...new Set(runs.flatMap((r) => r.outputs.map((o) => `${o.width}x${o.height}`)))];
  const butteraugliWidth = (() => {
    const widths = [...new Set(runs[0]?.outputs.map((o) => o.width) ?? [])];
    return widths.sort((a, b) => Math.abs(a - 1280) - Math.abs(b - 1280))[0];
  })();
  for (const size of sizes) {
    const [width, height] = size.split('x').map(Number) as [number, number];
    const reference = await sharp(sourcePixels.data, { raw: sourcePixels.info })
      .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
      .raw()
      .toBuffer();
    const prepared = prepareReference({ data: reference, width, height, channels });
    const refLuma = await luma(reference, width, height, { width, height, channels });
    for (const [i, run] of runs.entries()) {
      for (const o of run.outputs.filter((v) => v.width === width && v.height === height)) {
        let decoded = sharp(o.data).toColourspace('srgb');
        decoded = alpha ? decoded.ensureAlpha() : decoded.removeAlpha();
        const pixels = await decoded.raw().toBuffer();
        const entry = results[i]?.get(o.format) ?? {
          ssimulacra2: [],
          ssim: [],
          butteraugli: undefined,
        };
        entry.ssimulacra2.push(
          compareToReference(prepared, { data: pixels, width, height, channels }),
        );
        entry.ssim.push(ssim(await luma(o.data, width, height), refLuma, width, height));
        if (tool && width === butteraugliWidth) {
          entry.butteraugli = await butteraugli(
            tool,
            work,
            { data: reference, width, height, channels },
            o.data,
          );
        }
        results[i]?.set(o.format, entry);
      }
    }
  }
  return results;
}

function childPeakRss(file: string, preset: string, arenaCap = true): number {
  const { MALLOC_ARENA_MAX: _inherited, ...rest } = process.env;
  const env = arenaCap ? { ...rest, MALLOC_ARENA_MAX: '2' } : rest;
  const result = spawnSync(process.execPath, [self, '--child', file, preset], {
    encoding: 'utf8',
    timeout: 600_000,
    stdio: ['ignore', 'pipe', 'inherit'],
    env,
  });
  const peak = Number(/peakRssMb=(\d+(\.\d+)?)/.exec(result.stdout)?.[1]);
  if (result.status !== 0 || !Number.isFinite(peak)) {
    throw new Error(`child run on ${file} failed (status ${result.status}): ${result.stdout}`);
  }
  return peak;
}

/**
 * Peak RSS of this process in MB: VmHWM of its own memory map (getrusage's
 * maxRSS also counts the parent's RSS at fork time).
 */
function peakRssMb(): number {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]);
    if (Number.isFinite(kb)) return kb / 1024;
  } catch (error) {
    log(`no /proc/self/status (${coerceError(error).message}); using maxRSS`);
  }
  return process.resourceUsage().maxRSS / 1024;
}

/** A 50 MP photo-like JPEG (8192 × 6144): gradient, shapes, grain. */
async function fiftyMegapixelJpeg(path: string): Promise<void> {
  const width = 8192;
  const height = 6144;
  const scene = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
      <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">
        <stop offset="0" stop-color="#3a6ea5"/><stop offset="0.5" stop-color="#e0c068"/>
        <stop offset="1" stop-color="#5a3a2a"/></linearGradient></defs>
      <rect width="100%" height="100%" fill="url(#g)"/>
      <circle cx="${width / 3}" cy="${height / 2}" r="${height / 4}" fill="#c04040" opacity="0.7"/>
    </svg>`,
  );
  const noise = seededGrain(width, height, 24, 4);
  await sharp(scene, { limitInputPixels: false })
    .composite([{ input: noise, raw: { width, height, channels: 3 }, blend: 'overlay' }])
    .jpeg({ quality: 90 })
    .toFile(path);
}

async function child(file: string, preset: string): Promise<void> {
  await processImage(file, { preset });
  process.stdout.write(`peakRssMb=${peakRssMb().toFixed(1)}\n`);
}

async function main(): Promise<void> {
  const childIndex = process.argv.indexOf('--child');
  if (childIndex !== -1) {
    return child(process.argv[childIndex + 1] ?? '', process.argv[childIndex + 2] ?? CANDIDATE);
  }
  const rounds = Math.max(1, Number(argValue('--rounds') ?? 3) || 3);
  const only = argValue('--only')?.split(',');
  const loadStart = loadavg();
  log(
    `imaging bench: ${BASELINE} vs ${CANDIDATE}, ${rounds} interleaved rounds; load average ${loadStart.map((l) => l.toFixed(2)).join(' ')}`,
  );
  const work = mkdtempSync(join(tmpdir(), 'imaging-bench-'));
  try {
    const shared = findSharedDir();
    if (!shared) log('no ../shared (SHARED_DIR): the corpus photos are generated stand-ins');
    const corpus = (await buildCorpus(work, shared)).filter((c) => !only || only.includes(c.name));
    const tool = ensureButteraugli(log);
    await warmUp(work);

    const results: ImageResult[] = [];
    for (const image of corpus) results.push(await benchImage(image, rounds, tool, work));

    const figures = [...results.flatMap(figuresFor), ...corpusFigures(results)];
    if (!process.argv.includes('--skip-rss')) figures.push(...(await rssFigures(corpus, work)));
    const loadEnd = loadavg();
    figures.push(...loadFigures(loadStart, loadEnd));
    recordFigures(figures);
    process.stdout.write(`${formatFigures(figures)}\n\n${markdownTable(results)}\n`);
    const missed = figures.filter((f) => f.met === false).map((f) => f.name);
    log(
      `load average at the end ${loadEnd.map((l) => l.toFixed(2)).join(' ')}; ${missed.length === 0 ? 'every target met' : `missed: ${missed.join(', ')}`}`,
    );
    for (const line of perWidthLines(results)) log(line);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Warms both presets up (sharp's first use, JIT) on a small image. */
async function warmUp(work: string): Promise<void> {
  const warm = join(work, 'warm.jpg');
  await sharp({ create: { width: 700, height: 500, channels: 3, background: '#7a8' } })
    .jpeg()
    .toFile(warm);
  await runPreset(warm, BASELINE);
  await runPreset(warm, CANDIDATE);
}

/** Runs both presets on one image in interleaved rounds, scores the last run of each and logs a line. */
async function benchImage(
  image: CorpusImage,
  rounds: number,
  tool: string | undefined,
  work: string,
): Promise<ImageResult> {
  const meta = await sharp(image.file).metadata();
  const times: Run[][] = [[], []];
  // Small images are cheap and their ratios noisier: more rounds (up to 7).
  const megapixels = ((meta.width ?? 0) * (meta.height ?? 0)) / 1e6;
  const imageRounds = Math.max(rounds, Math.min(7, Math.ceil((rounds * 12) / megapixels)));
  for (let round = 0; round < imageRounds; round++) {
    const order = round % 2 === 0 ? [0, 1] : [1, 0];
    for (const i of order)
      times[i]?.push(await runPreset(image.file, i === 0 ? BASELINE : CANDIDATE));
  }
  const last = times.map((t) => t.at(-1) as Run) as [Run, Run];
  const quality = (await measureQuality(image, last, tool, work)) as [Quality, Quality];
  const result: ImageResult = {
    image,
    megapixels,
    wall: [
      median((times[0] ?? []).map((r) => r.wallMs)),
      median((times[1] ?? []).map((r) => r.wallMs)),
    ],
    cpu: [
      median((times[0] ?? []).map((r) => r.cpuMs)),
      median((times[1] ?? []).map((r) => r.cpuMs)),
    ],
    bytes: last.map((r) => r.outputs.reduce((s, o) => s + o.data.length, 0)) as [number, number],
    quality,
    choices: last[1].choices,
  };
  const chosen = result.choices
    .map((c) => {
      const { quality, effort } = c.options as { quality?: number; effort?: number };
      return `${c.format} ${c.source}${quality === undefined ? '' : ` q${quality}`}${effort === undefined ? '' : ` e${effort}`}`;
    })
    .join(', ');
  log(
    `${image.name}: wall ${result.wall[0].toFixed(0)} → ${result.wall[1].toFixed(0)} ms (${(result.wall[1] / result.wall[0]).toFixed(2)}×), ` +
      `bytes ${result.bytes[0]} → ${result.bytes[1]}, search: ${chosen}`,
  );
  return result;
}

/**
 * Peak RSS of one candidate run in a child process: on the 12 MP photo (with
 * and without MALLOC_ARENA_MAX=2) and on a generated 50 MP JPEG.
 */
async function rssFigures(corpus: CorpusImage[], work: string): Promise<Figure[]> {
  const figures: Figure[] = [];
  const phone = corpus.find((c) => c.name === 'phone-12mp');
  if (phone) {
    const peak12 = childPeakRss(phone.file, CANDIDATE);
    const uncapped = childPeakRss(phone.file, CANDIDATE, false);
    figures.push(
      {
        name: 'imaging.12mp.peak_rss',
        value: peak12,
        unit: 'MB',
        baseline: null,
        target: null,
        met: null,
      },
      {
        name: 'imaging.12mp.peak_rss_malloc_arena_max_2',
        value: peak12,
        unit: 'MB',
        baseline: uncapped,
        target: null,
        met: null,
      },
    );
  }
  const big = join(work, 'photo-50mp.jpg');
  await fiftyMegapixelJpeg(big);
  const peak50 = childPeakRss(big, CANDIDATE);
  figures.push(
    {
      name: 'imaging.50mp.peak_rss',
      value: peak50,
      unit: 'MB',
      baseline: null,
      target: '<= 600 MB',
      met: peak50 <= 600,
    },
    {
      name: 'imaging.50mp.peak_rss_per_mp',
      value: peak50 / 50.3,
      unit: 'MB/MP',
      baseline: null,
      target: null,
      met: null,
    },
  );
  return figures;
}

await main();
