/**
 * processImage: validate, decode once, encode every variant of a preset with
 * bounded parallelism, hand each to `write` (as soon as it is ready, or after
 * every encode when the never-larger rule applies), and return the ImageResult
 * record.
 */

import { ImageResult } from '@slideshow/contracts/image-result';
import { AppError, coerceError } from '@slideshow/runtime';
import sharp from 'sharp';
import {
  type CostedJob,
  configureSharp,
  ENCODE_POOL,
  runByCost,
  WRITES_AT_ONCE,
} from './concurrency.ts';
import { decodeStill, type Intermediate, safeInputOptions } from './decode.ts';
import type { VariantOutput } from './encode.ts';
import { fromSharpError } from './errors.ts';
import { type Limits, resolveLimits } from './limits.ts';
import { applyNeverLarger, type ManifestEntry, servedBytes } from './never-larger.ts';
import { placeholderOf } from './placeholder.ts';
import { presetFrom } from './preset-config.ts';
import { DEFAULT_PRESET, PRESETS, type Preset } from './presets.ts';
import { probe } from './probe.ts';
import type { ProbeResult } from './probe-header.ts';
import type { FormatChoice } from './quality-search.ts';
import { animatedJobs, checkAborted, stillJobs } from './variant-jobs.ts';
import { widestVariant } from './variant-size.ts';
import { type ImageWarning, warningsFor } from './warnings.ts';

export { pickProbeWidth } from './variant-jobs.ts';

/** Options for {@link processImage}. */
export interface ProcessOptions {
  /** Preset name (default: the preset file's `default`). */
  preset?: string;
  /**
   * The presets to look `preset` (and its quality search's baseline) up in:
   * a job spec's closure (preset-config.ts `presetClosure`); default the
   * repository's preset file.
   */
  presets?: Readonly<Record<string, Preset>>;
  limits?: Partial<Limits>;
  /**
   * Called once per stored variant: as soon as it is encoded, or — with a
   * `neverLarger` preset — after every encode, for the variants the rule keeps
   * ({@link WRITES_AT_ONCE} at a time). Never called after processImage has
   * returned or thrown.
   */
  write?: (variant: VariantOutput) => Promise<void>;
  /** Aborts between steps (an encode already running finishes first). */
  signal?: AbortSignal;
  /** Told what the preset's quality search chose for this image (benchmarks, logs). */
  onQualityChoice?: (choices: FormatChoice[]) => void;
  /**
   * Told, before the decode, what the variants will leave out of an accepted image (an
   * APNG's animation: warnings.ts); the ImageResult has no place for it, so log it.
   */
  onWarning?: (warning: ImageWarning) => void;
}

/**
 * The widths to produce for a source `sourceWidth` × `sourceHeight`: the
 * preset widths it covers, plus its own width when it lies between two preset
 * widths (so a 1800 px photo is offered at 1800, not capped at 1280). Never
 * upscales; a source narrower than every preset width gets one variant at its
 * own width. A source so tall that a variant would exceed the encoders' limit
 * (variant-size.ts) is treated as if it were only as wide as its widest
 * variant that fits (a 1080 × 17000 screenshot gets 320/640/1040).
 */
export function targetWidths(
  presetWidths: readonly number[],
  sourceWidth: number,
  sourceHeight = 0,
): number[] {
  const widest = widestVariant(sourceWidth, sourceHeight);
  const fitting = presetWidths.filter((w) => w <= widest);
  const largest = Math.max(...presetWidths);
  if (widest < largest && !fitting.includes(widest)) fitting.push(widest);
  return fitting.sort((a, b) => a - b);
}

/** Step timings of one image, in milliseconds with one decimal. */
interface Stopwatch {
  readonly timings: Record<string, number>;
  /** Records the time since the previous lap (or the start) under `name`. */
  lap(name: string): void;
  /** Milliseconds since `start` (a `performance.now()`), rounded to one decimal. */
  since(start: number): number;
}

/** A stopwatch whose first lap counts from `started` (a `performance.now()`). */
function startStopwatch(started: number): Stopwatch {
  const timings: Record<string, number> = {};
  let mark = started;
  const round = (ms: number): number => Math.round(ms * 10) / 10;
  return {
    timings,
    lap(name) {
      const now = performance.now();
      timings[name] = round(now - mark);
      mark = now;
    },
    since: (start) => round(performance.now() - start),
  };
}

/**
 * Validates `input`, decodes it once and writes every variant of the preset
 * through `write`. Refusals throw AppError with an image error code.
 */
export async function processImage(
  input: Buffer | string,
  options: ProcessOptions = {},
): Promise<ImageResult> {
  configureSharp();
  const table = options.presets ?? PRESETS;
  const preset = presetFrom(
    { presets: table, source: 'presets' },
    options.preset ?? DEFAULT_PRESET,
  );
  const limits = resolveLimits(options.limits);
  const { signal } = options;
  const write = options.write ?? (async () => undefined);
  const started = performance.now();
  const clock = startStopwatch(started);

  checkAborted(signal);
  const info = await probe(input, limits);
  clock.lap('probe');
  checkAborted(signal);
  for (const warning of warningsFor(info)) options.onWarning?.(warning);

  const decoded = await decodeSource(input, info, preset, limits);
  const { source, animated, widths } = decoded;
  clock.lap('decode');
  checkAborted(signal);

  // The placeholder is only needed for the record: it runs beside the encodes.
  const placeholderStart = performance.now();
  const placeholding = placeholderOf(source.input, source.options).then((p) => {
    clock.timings.placeholder = clock.since(placeholderStart);
    return p;
  });
  // Marked handled: awaited after the encodes; a failure of an encode comes first.
  placeholding.catch(() => undefined);

  const jobs = animated
    ? await animatedJobs(input, source, widths, preset, limits, info)
    : stillJobs(source, widths, preset, table, signal, clock.timings, options.onQualityChoice);
  // Never larger: every variant is compared with its wider siblings before
  // anything is written, so the writes wait for the encodes.
  const deferWrites = preset.neverLarger;
  const variants = await runEncodes(jobs, {
    signal,
    format: info.format,
    write: deferWrites ? undefined : write,
  });
  const { placeholder, dominantColor } = await placeholding;
  clock.lap('encode');
  let entries: ManifestEntry[] = variants.map((variant) => ({ variant }));
  if (deferWrites) {
    entries = await writeNeverLarger(variants, write, signal);
    clock.lap('write');
  }

  return ImageResult.parse({
    preset: preset.name,
    width: info.width,
    height: info.height,
    format: info.format,
    hasAlpha: source.hasAlpha,
    frames: info.frames,
    placeholder: preset.placeholder ? placeholder : null,
    dominantColor,
    variants: variantRecords(entries),
    // The quality search overlaps the encode phase, so the total is measured, not summed.
    timings: { ...clock.timings, total: clock.since(started) },
  });
}

/** The decoded intermediate of `input` and what the preset makes of it. */
interface DecodedSource {
  /** More than one frame (an animated GIF or WebP; an APNG has one: probe-header.ts `apng`). */
  multiFrame: boolean;
  /** Encoded as an animation (`animated: 'still'` presets keep the first frame only). */
  animated: boolean;
  /** The widths to produce (targetWidths). */
  widths: number[];
  /** The still intermediate: the whole image, or an animation's first frame. */
  source: Intermediate;
}

async function decodeSource(
  input: Buffer | string,
  info: ProbeResult,
  preset: Preset,
  limits: Limits,
): Promise<DecodedSource> {
  const multiFrame = info.frames > 1 && (info.format === 'gif' || info.format === 'webp');
  // `animated: 'still'` presets keep the first frame of an animation only.
  const animated = multiFrame && preset.animated === 'webp';
  const presetWidths = animated ? preset.animatedWidths : preset.widths;
  const widths = targetWidths(presetWidths, info.width, info.height);
  const largest = Math.max(...widths);
  // For animated input the intermediate is the first frame only: it feeds the
  // poster and the placeholder; animated variants are encoded from the source.
  const still = multiFrame ? Buffer.from(await firstFrame(input, limits)) : input;
  const source = await decodeStill(still, { ...info, frames: 1 }, preset, limits, largest);
  return { multiFrame, animated, widths, source };
}

/**
 * Runs the encodes in one pool, handing each variant to `write` as soon as it
 * is ready (when given). The first failure stops the encodes not yet started
 * and the writes of the ones still running; it is thrown once the writes in
 * flight have settled (an encode still running is not waited for: it writes
 * nothing), so nothing of the image lands in the store after processImage threw.
 */
async function runEncodes(
  jobs: CostedJob<VariantOutput>[],
  context: {
    signal: AbortSignal | undefined;
    format: string;
    write: ((variant: VariantOutput) => Promise<void>) | undefined;
  },
): Promise<VariantOutput[]> {
  const { signal, format, write } = context;
  let failed = false;
  const writing = new Set<Promise<void>>();
  const runJob = (job: CostedJob<VariantOutput>): CostedJob<VariantOutput> => ({
    ...job,
    run: async () => {
      if (failed) throw new AppError('INTERNAL', 'Stopped: another variant of this image failed');
      try {
        checkAborted(signal);
        let variant: VariantOutput;
        try {
          variant = await job.run();
        } catch (error) {
          throw fromSharpError(coerceError(error), { format, stage: 'encode' });
        }
        if (failed) throw new AppError('INTERNAL', 'Stopped: another variant of this image failed');
        if (write) {
          const written = write(variant);
          writing.add(written);
          try {
            await written;
          } finally {
            writing.delete(written);
          }
        }
        return variant;
      } catch (error) {
        failed = true;
        throw coerceError(error);
      }
    },
  });
  // One pool, costliest ready encode first: the big AVIF/WebP encodes start at
  // once and the small ones fill the gaps at the end (shorter tail than
  // separate lanes); encodes that wait for the quality search never hold a slot.
  try {
    return await runByCost(jobs.map(runJob), ENCODE_POOL);
  } catch (error) {
    await Promise.allSettled(writing);
    throw error;
  }
}

/** Applies the never-larger rule to the finished variants, then writes the ones it keeps. */
async function writeNeverLarger(
  variants: VariantOutput[],
  write: (variant: VariantOutput) => Promise<void>,
  signal: AbortSignal | undefined,
): Promise<ManifestEntry[]> {
  const entries = applyNeverLarger(variants);
  await writeAll(
    entries.filter((e) => e.reuse !== 'wider').map((e) => e.variant),
    write,
    signal,
  );
  return entries;
}

/**
 * Writes `variants`, {@link WRITES_AT_ONCE} at a time. On a failure no new write starts, and
 * the first error is thrown only once every write in flight has settled: nothing of the image
 * lands in the store after processImage has returned or thrown (the processor deletes what a
 * failed or deleted image wrote right after).
 */
async function writeAll(
  variants: VariantOutput[],
  write: (variant: VariantOutput) => Promise<void>,
  signal: AbortSignal | undefined,
): Promise<void> {
  const queue = [...variants];
  let failure: unknown;
  const writer = async (): Promise<void> => {
    for (let v = queue.shift(); v !== undefined && failure === undefined; v = queue.shift()) {
      try {
        checkAborted(signal);
        await write(v);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: WRITES_AT_ONCE }, writer));
  if (failure !== undefined) throw coerceError(failure);
}

/** The ImageResult's variant records, with the bytes each one is served with. */
function variantRecords(entries: ManifestEntry[]) {
  return entries.map((e) => ({
    suffix: e.variant.suffix,
    format: e.variant.format,
    width: e.variant.width,
    height: e.variant.height,
    bytes: servedBytes(e, entries),
    animated: e.variant.animated,
    role: e.variant.role,
    ...(e.reuse ? { reuse: e.reuse } : {}),
  }));
}

async function firstFrame(input: Buffer | string, limits: Limits): Promise<Buffer> {
  try {
    // Lossless and uncompressed: this only carries the first frame to decodeStill.
    return await sharp(input, { ...safeInputOptions(limits), pages: 1 })
      .png({ compressionLevel: 0 })
      .toBuffer();
  } catch (error) {
    throw fromSharpError(coerceError(error), { stage: 'first-frame' });
  }
}
