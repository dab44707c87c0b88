/**
 * The encode jobs of one image, for the cost-ordered pool (concurrency.ts):
 * for a still image one per width and format, sharing each width's resize
 * and waiting for the quality search's choice of its format; for an animation
 * one per width plus the still poster.
 */

import { AppError } from '@slideshow/runtime';
import sharp from 'sharp';
import type { CostedJob } from './concurrency.ts';
import type { Intermediate } from './decode.ts';
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
import type { Limits } from './limits.ts';
import { presetFrom } from './preset-config.ts';
import type { Preset } from './presets.ts';
import { chooseQualities, type FormatChoice, fixedFormats } from './quality-search.ts';
import { variantHeight } from './variant-size.ts';

/** The probe of the quality search: the widest variant not wider than `wanted`, else the narrowest. */
export function pickProbeWidth(widths: readonly number[], wanted: number): number {
  const fitting = widths.filter((w) => w <= wanted);
  return fitting.length > 0 ? Math.max(...fitting) : Math.min(...widths);
}

/** Throws a retryable TIMEOUT once `signal` has aborted. */
export function checkAborted(signal: AbortSignal | undefined): void {
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
 * One resize per width, started at once and shared by its `usesOf(width)`
 * users; each user calls `release` when done, and the pixels are dropped after
 * the last one (a width asked for again is resized anew).
 */
function sharedResizes(
  source: Intermediate,
  widths: readonly number[],
  usesOf: (width: number) => number,
): { resize(width: number): Promise<Resized>; release(width: number): void } {
  const resized = new Map<number, { image: Promise<Resized>; pending: number }>();
  for (const width of widths) {
    const image = resizeTo(source, width);
    // Marked handled: awaited by its users, which report a failure.
    image.catch(() => undefined);
    resized.set(width, { image, pending: usesOf(width) });
  }
  return {
    resize: (width) => resized.get(width)?.image ?? resizeTo(source, width),
    release: (width) => {
      const entry = resized.get(width);
      if (entry) entry.pending -= 1;
      if (entry && entry.pending <= 0) resized.delete(width);
    },
  };
}

/**
 * The encodes of a still image: one per width and format, each width resized
 * once (all widths at once, while the quality search runs) and shared by its
 * formats. With a quality search, each format's encodes wait for its choice.
 */
export function stillJobs(
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
  const heightOf = (width: number): number => variantHeight(width, source);
  const variantPixels = widths.reduce((sum, width) => sum + width * heightOf(width), 0);
  const searched = qualitySearch !== null && variantPixels >= qualitySearch.minPixels;
  const probeWidth = searched ? pickProbeWidth(widths, qualitySearch.probeWidth) : undefined;
  // Each width is used by its formats, and by the quality search when it is the probe.
  const { resize, release } = sharedResizes(
    source,
    widths,
    (width) => formats.length + (width === probeWidth ? 1 : 0),
  );

  // Each format's options: decided by the search (as soon as each is final), else the preset's.
  const decided = new Map<OutputFormat, EncoderOptions>();
  if (qualitySearch && !searched) {
    // Too small for the search to pay: the speed formats keep the baseline's
    // setting (never worse or larger), and so do the payers, which have no
    // faster setting to pay for; the others the preset's.
    const baseline = presetFrom({ presets, source: 'presets' }, qualitySearch.baseline);
    const asBaseline = (format: OutputFormat): boolean =>
      format in qualitySearch.speed || format in qualitySearch.payers;
    for (const format of formats) {
      decided.set(
        format,
        asBaseline(format) ? presetOptions(baseline, format) : presetOptions(preset, format),
      );
    }
  }
  const waiting = new Map<OutputFormat, PromiseWithResolvers<void>>();
  if (qualitySearch && probeWidth !== undefined) {
    // Formats the search never changes start at once: they fill the cores
    // while the search's metric runs in JavaScript.
    for (const format of fixedFormats(qualitySearch, formats)) {
      decided.set(format, presetOptions(preset, format));
    }
    for (const format of formats) {
      if (decided.has(format)) continue;
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

/**
 * The encodes of an animation: each width encoded from the source itself, plus
 * the still poster at the largest width from the decoded first frame.
 */
export async function animatedJobs(
  input: Buffer | string,
  poster: Intermediate,
  widths: number[],
  preset: Preset,
  limits: Limits,
  frame: { width: number; height: number },
): Promise<CostedJob<VariantOutput>[]> {
  const timing = await animationTiming(input);
  const largest = Math.max(...widths);
  // One animated encode at a time: each one decodes every frame of the source
  // (a 99-frame 1000 × 1000 WebP is 396 MB of RGBA), so three at once tripled
  // the peak (README, animated input); the poster still runs beside them.
  let encoding: Promise<void> | undefined;
  const jobs: CostedJob<VariantOutput>[] = widths.map((width) => ({
    cost: () => width * width * 3,
    blocked: () => encoding,
    run: async () => {
      const done = Promise.withResolvers<void>();
      encoding = done.promise;
      try {
        return await encodeAnimated(input, width, preset, limits, timing, frame);
      } finally {
        encoding = undefined;
        done.resolve();
      }
    },
  }));
  jobs.push({
    cost: () => 0,
    blocked: () => undefined,
    run: () => encodePoster(poster, largest, preset),
  });
  return jobs;
}

async function animationTiming(
  input: Buffer | string,
): Promise<{ delay?: number[]; loop?: number }> {
  const { delay, loop } = await sharp(input).metadata();
  return { ...(delay ? { delay } : {}), ...(loop === undefined ? {} : { loop }) };
}
