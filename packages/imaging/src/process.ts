/**
 * processImage: validate, decode once, encode every variant of a preset with
 * bounded parallelism, hand each to `write` (as soon as it is ready, or after
 * every encode when the never-larger rule applies), and return the ImageResult
 * record.
 */

import { readFile } from 'node:fs/promises';
import { ImageResult } from '@slideshow/contracts';
import { AppError, coerceError } from '@slideshow/runtime';
import sharp from 'sharp';
import { type CostedJob, configureSharp, ENCODE_POOL, runByCost } from './concurrency.ts';
import { decodeStill, type Intermediate, safeInputOptions } from './decode.ts';
import {
  centreCrop,
  type EncoderOptions,
  encodeAnimated,
  encodeCost,
  encodePoster,
  encodeResized,
  type OutputFormat,
  presetOptions,
  type Resized,
  resizeTo,
  type VariantOutput,
} from './encode.ts';
import { fromSharpError } from './errors.ts';
import { type Limits, resolveLimits } from './limits.ts';
import { applyNeverLarger, type ManifestEntry, servedBytes } from './never-larger.ts';
import { placeholderOf } from './placeholder.ts';
import { presetFrom } from './preset-config.ts';
import { DEFAULT_PRESET, PRESETS, type Preset } from './presets.ts';
import { probe } from './probe.ts';
import { chooseQualities, type FormatChoice } from './quality-search.ts';

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
   * `neverLarger` preset — one at a time after every encode, for the variants
   * the rule keeps.
   */
  write?: (variant: VariantOutput) => Promise<void>;
  /** Aborts between steps (an encode already running finishes first). */
  signal?: AbortSignal;
  /** Told what the preset's quality search chose for this image (benchmarks, logs). */
  onQualityChoice?: (choices: FormatChoice[]) => void;
}

/** The probe of the quality search: the widest variant not wider than `wanted`, else the narrowest. */
export function pickProbeWidth(widths: readonly number[], wanted: number): number {
  const fitting = widths.filter((w) => w <= wanted);
  return fitting.length > 0 ? Math.max(...fitting) : Math.min(...widths);
}

/**
 * The widths to produce for a source `sourceWidth` wide: the preset widths it
 * covers, plus its own width when it lies between two preset widths (so a
 * 1800 px photo is offered at 1800, not capped at 1280). Never upscales; a
 * source narrower than every preset width gets one variant at its own width.
 */
export function targetWidths(presetWidths: readonly number[], sourceWidth: number): number[] {
  const fitting = presetWidths.filter((w) => w <= sourceWidth);
  const largest = Math.max(...presetWidths);
  if (sourceWidth < largest && !fitting.includes(sourceWidth)) fitting.push(sourceWidth);
  return fitting.sort((a, b) => a - b);
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new AppError('TIMEOUT', 'Image processing was aborted before it finished', {
      retryable: true,
      cause: signal.reason,
    });
  }
}

function stillFormats(preset: Preset, hasAlpha: boolean): OutputFormat[] {
  const formats: OutputFormat[] = [...preset.modern];
  if (preset.fallback) formats.push(hasAlpha ? 'png' : 'jpeg');
  return formats;
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
  const timings: Record<string, number> = {};
  const started = performance.now();
  let mark = started;
  const lap = (name: string): void => {
    const now = performance.now();
    timings[name] = Math.round((now - mark) * 10) / 10;
    mark = now;
  };

  checkAborted(signal);
  const info = await probe(input, limits);
  lap('probe');
  checkAborted(signal);

  const multiFrame = info.frames > 1 && (info.format === 'gif' || info.format === 'webp');
  // `animated: 'still'` presets keep the first frame of an animation only.
  const animated = multiFrame && preset.animated === 'webp';
  const widths = targetWidths(animated ? preset.animatedWidths : preset.widths, info.width);
  const largest = Math.max(...widths);
  // For animated input the intermediate is the first frame only: it feeds the
  // poster and the placeholder; animated variants are encoded from the source.
  const still = multiFrame ? Buffer.from(await firstFrame(input, limits)) : input;
  const source = await decodeStill(still, { ...info, frames: 1 }, preset, limits, largest);
  lap('decode');
  checkAborted(signal);

  // The placeholder is only needed for the record: it runs beside the encodes.
  const placeholderStart = performance.now();
  const placeholding = placeholderOf(source.input, source.options).then((p) => {
    timings.placeholder = Math.round((performance.now() - placeholderStart) * 10) / 10;
    return p;
  });
  // Marked handled: awaited after the encodes; a failure of an encode comes first.
  placeholding.catch(() => undefined);

  let jobs: CostedJob<VariantOutput>[];
  if (animated) {
    const timing = await animationTiming(input);
    jobs = widths.map((width) => ({
      cost: () => width * width * 3,
      blocked: () => undefined,
      run: () => encodeAnimated(input, width, preset, limits, timing),
    }));
    jobs.push({
      cost: () => 0,
      blocked: () => undefined,
      run: () => encodePoster(source, largest, preset),
    });
  } else {
    jobs = stillJobs(source, widths, preset, table, signal, timings, options.onQualityChoice);
  }
  let failed = false;
  // Never larger: every variant is compared with its wider siblings before
  // anything is written, so the writes wait for the encodes.
  const deferWrites = preset.neverLarger;
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
          throw fromSharpError(coerceError(error), { format: info.format, stage: 'encode' });
        }
        if (failed) throw new AppError('INTERNAL', 'Stopped: another variant of this image failed');
        if (!deferWrites) await write(variant);
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
  const variants = await runByCost(jobs.map(runJob), ENCODE_POOL);
  const { placeholder, dominantColor } = await placeholding;
  lap('encode');
  let entries: ManifestEntry[] = variants.map((variant) => ({ variant }));
  if (deferWrites) {
    entries = applyNeverLarger(variants, {
      format: info.format,
      width: info.width,
      height: info.height,
      bytes: info.bytes,
      webReady: await isWebReady(input, info.orientation),
      animated: multiFrame,
      data: typeof input === 'string' ? await readFile(input) : input,
    });
    // One write at a time, as the encode pool's writes mostly were: a delete of the image
    // racing the writes (apps/processor test/run.test.ts) then meets one write, not several.
    for (const e of entries) {
      if (e.reuse === 'wider') continue;
      checkAborted(signal);
      await write(e.variant);
    }
    lap('write');
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
    variants: entries.map((e) => ({
      suffix: e.variant.suffix,
      format: e.variant.format,
      width: e.variant.width,
      height: e.variant.height,
      bytes: servedBytes(e, entries),
      animated: e.variant.animated,
      role: e.variant.role,
      ...(e.reuse ? { reuse: e.reuse } : {}),
    })),
    // The quality search overlaps the encode phase, so the total is measured, not summed.
    timings: { ...timings, total: Math.round((performance.now() - started) * 10) / 10 },
  });
}

/**
 * The encodes of a still image: one per width and format, each width resized
 * once (all widths at once, while the quality search runs) and shared by its
 * formats. With a quality search, each format's encodes wait for its choice.
 */
function stillJobs(
  source: Intermediate,
  widths: number[],
  preset: Preset,
  presets: Readonly<Record<string, Preset>>,
  signal: AbortSignal | undefined,
  timings: Record<string, number>,
  onQualityChoice: ((choices: FormatChoice[]) => void) | undefined,
): CostedJob<VariantOutput>[] {
  const formats = stillFormats(preset, source.hasAlpha);
  const { qualitySearch } = preset;
  const heightOf = (width: number): number => Math.round((width / source.width) * source.height);
  const variantPixels = widths.reduce((sum, width) => sum + width * heightOf(width), 0);
  const searched = qualitySearch !== null && variantPixels >= qualitySearch.minPixels;
  const probeWidth = searched ? pickProbeWidth(widths, qualitySearch.probeWidth) : undefined;
  // One resize per width, shared by its formats and dropped when they are done.
  const resized = new Map<number, { image: Promise<Resized>; pending: number }>();
  for (const width of widths) {
    // Its formats use it, and the quality search when it is the probe.
    const uses = formats.length + (width === probeWidth ? 1 : 0);
    const image = resizeTo(source, width);
    // Marked handled: awaited by its encodes (or the search), which report a failure.
    image.catch(() => undefined);
    resized.set(width, { image, pending: uses });
  }
  const resize = (width: number): Promise<Resized> =>
    resized.get(width)?.image ?? resizeTo(source, width);
  const release = (width: number): void => {
    const entry = resized.get(width);
    if (entry) entry.pending -= 1;
    if (entry && entry.pending <= 0) resized.delete(width);
  };

  // Each format's options: decided by the search (as soon as each is final), else the preset's.
  const decided = new Map<OutputFormat, EncoderOptions>();
  if (qualitySearch && !searched) {
    // Too small for the search to pay: the speed formats keep the baseline's
    // setting (never worse or larger), the others the preset's.
    const baseline = presetFrom({ presets, source: 'presets' }, qualitySearch.baseline);
    for (const format of formats) {
      decided.set(
        format,
        format in qualitySearch.speed
          ? presetOptions(baseline, format)
          : presetOptions(preset, format),
      );
    }
  }
  const waiting = new Map<OutputFormat, PromiseWithResolvers<void>>();
  if (qualitySearch && probeWidth !== undefined) {
    for (const format of formats) {
      const wait = Promise.withResolvers<void>();
      // Marked handled: a failed search fails the image through the encodes that wait.
      wait.promise.catch(() => undefined);
      waiting.set(format, wait);
    }
    const decide = (format: OutputFormat, options: EncoderOptions): void => {
      decided.set(format, options);
      waiting.get(format)?.resolve();
    };
    const searchStart = performance.now();
    (async () => {
      const probe = await centreCrop(await resize(probeWidth), qualitySearch.probeCrop);
      const choices = await chooseQualities(probe, preset, formats, {
        onChoice: (choice) => decide(choice.format, choice.options),
        presets,
      });
      release(probeWidth);
      timings['quality-search'] = Math.round((performance.now() - searchStart) * 10) / 10;
      for (const choice of choices) decide(choice.format, choice.options);
      // A format the search did not cover keeps the preset's options.
      for (const format of formats) {
        if (!decided.has(format)) decide(format, presetOptions(preset, format));
      }
      onQualityChoice?.(choices);
    })().catch((error: unknown) => {
      for (const wait of waiting.values()) wait.reject(error);
    });
  }
  const jobs: CostedJob<VariantOutput>[] = [];
  for (const width of widths) {
    const height = heightOf(width);
    for (const format of formats) {
      const optionsNow = (): EncoderOptions => decided.get(format) ?? presetOptions(preset, format);
      jobs.push({
        cost: () => width * height * encodeCost(format, optionsNow()),
        blocked: () => (decided.has(format) ? undefined : waiting.get(format)?.promise),
        run: async () => {
          try {
            checkAborted(signal);
            return await encodeResized(await resize(width), format, optionsNow());
          } finally {
            release(width);
          }
        },
      });
    }
  }
  return jobs;
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

async function animationTiming(
  input: Buffer | string,
): Promise<{ delay?: number[]; loop?: number }> {
  const { delay, loop } = await sharp(input).metadata();
  return { ...(delay ? { delay } : {}), ...(loop === undefined ? {} : { loop }) };
}

/**
 * Whether a browser would show the original's own bytes exactly as a variant:
 * upright, 8-bit sRGB with no embedded profile (so no conversion is needed),
 * and nothing a variant never carries (EXIF, GPS, XMP, IPTC).
 */
async function isWebReady(input: Buffer | string, orientation: number): Promise<boolean> {
  if (orientation !== 1) return false;
  const meta = await sharp(input).metadata();
  return (
    meta.space === 'srgb' &&
    meta.depth === 'uchar' &&
    meta.icc === undefined &&
    meta.exif === undefined &&
    meta.xmp === undefined &&
    meta.iptc === undefined
  );
}
