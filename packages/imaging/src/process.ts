/**
 * processImage: validate, decode once, encode every variant of a preset with
 * bounded parallelism, hand each to `write` as soon as it is ready, and return
 * the ImageResult record.
 */
import { ImageResult } from '@slideshow/contracts';
import { AppError, coerceError } from '@slideshow/runtime';
import sharp from 'sharp';
import { configureSharp, mapLimit, VARIANT_PARALLELISM } from './concurrency.ts';
import { decodeStill, safeInputOptions } from './decode.ts';
import {
  encodeAnimated,
  encodePoster,
  encodeStill,
  type OutputFormat,
  type VariantOutput,
} from './encode.ts';
import { fromSharpError } from './errors.ts';
import { type Limits, resolveLimits } from './limits.ts';
import { placeholderOf } from './placeholder.ts';
import { DEFAULT_PRESET, getPreset, type Preset } from './presets.ts';
import { probe } from './probe.ts';

/** Options for {@link processImage}. */
export interface ProcessOptions {
  /** Preset name (default `web-v1`). */
  preset?: string;
  limits?: Partial<Limits>;
  /** Called once per variant, as soon as it is encoded. */
  write?: (variant: VariantOutput) => Promise<void>;
  /** Aborts between steps (an encode already running finishes first). */
  signal?: AbortSignal;
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
  const preset = getPreset(options.preset ?? DEFAULT_PRESET);
  const limits = resolveLimits(options.limits);
  const { signal } = options;
  const write = options.write ?? (async () => undefined);
  const timings: Record<string, number> = {};
  let mark = performance.now();
  const lap = (name: string): void => {
    const now = performance.now();
    timings[name] = Math.round((now - mark) * 10) / 10;
    mark = now;
  };

  checkAborted(signal);
  const info = await probe(input, limits);
  lap('probe');
  checkAborted(signal);

  const animated = info.frames > 1 && (info.format === 'gif' || info.format === 'webp');
  const widths = targetWidths(animated ? preset.animatedWidths : preset.widths, info.width);
  const largest = Math.max(...widths);
  // For animated input the intermediate is the first frame only: it feeds the
  // poster and the placeholder; animated variants are encoded from the source.
  const still = animated ? Buffer.from(await firstFrame(input, limits)) : input;
  const source = await decodeStill(still, { ...info, frames: 1 }, preset, limits, largest);
  lap('decode');
  checkAborted(signal);

  const { placeholder, dominantColor } = await placeholderOf(source.input, source.options);
  lap('placeholder');

  // Two lanes: AVIF encodes one at a time (libaom runs its own threads, and
  // two concurrent 2560 px AVIF encoders doubled peak RSS in our runs), the
  // cheap formats alongside it; each lane goes largest first.
  type Job = () => Promise<VariantOutput>;
  const avifLane: Job[] = [];
  const otherLane: Job[] = [];
  if (animated) {
    const timing = await animationTiming(input);
    for (const width of [...widths].reverse()) {
      otherLane.push(() => encodeAnimated(input, width, preset, limits, timing));
    }
    otherLane.push(() => encodePoster(source, largest, preset));
  } else {
    for (const width of [...widths].reverse()) {
      for (const format of stillFormats(preset, source.hasAlpha)) {
        (format === 'avif' ? avifLane : otherLane).push(() =>
          encodeStill(source, width, format, preset),
        );
      }
    }
  }
  // When one lane fails the other stops starting jobs (and never writes again).
  let failed = false;
  const runJob = async (job: Job): Promise<VariantOutput> => {
    if (failed) throw new AppError('INTERNAL', 'Stopped: another variant of this image failed');
    try {
      checkAborted(signal);
      let variant: VariantOutput;
      try {
        variant = await job();
      } catch (error) {
        throw fromSharpError(coerceError(error), { format: info.format, stage: 'encode' });
      }
      if (failed) throw new AppError('INTERNAL', 'Stopped: another variant of this image failed');
      await write(variant);
      return variant;
    } catch (error) {
      failed = true;
      throw coerceError(error);
    }
  };
  const [avif, others] = await Promise.all([
    mapLimit(avifLane, 1, runJob),
    mapLimit(otherLane, Math.max(1, VARIANT_PARALLELISM - 1), runJob),
  ]);
  const variants = [...avif, ...others];
  lap('encode');

  return ImageResult.parse({
    preset: preset.name,
    width: info.width,
    height: info.height,
    format: info.format,
    hasAlpha: source.hasAlpha,
    frames: info.frames,
    placeholder,
    dominantColor,
    variants: variants.map((v) => ({
      suffix: v.suffix,
      format: v.format,
      width: v.width,
      height: v.height,
      bytes: v.data.length,
      animated: v.animated,
      role: v.role,
    })),
    timings: { ...timings, total: Object.values(timings).reduce((a, b) => a + b, 0) },
  });
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
