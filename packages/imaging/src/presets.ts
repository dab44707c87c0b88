/**
 * Versioned output presets. A preset's name is part of every variant key, so
 * a preset is never changed in place: a new setting is a new version.
 * Encoder settings were chosen by measurement (bench/imaging.bench.ts and
 * README "Decisions").
 */
import type { AvifOptions, JpegOptions, PngOptions, WebpOptions } from 'sharp';

/** Output colour handling. */
export type ColourMode = 'srgb' | 'keep-display-p3';

/** A named, versioned recipe for the variants of one image. */
export interface Preset {
  name: string;
  /** Target widths, ascending; never upscaled. */
  widths: readonly number[];
  /** Modern formats written for each width, besides the JPEG/PNG fallback. */
  modern: readonly ('avif' | 'webp')[];
  /** Whether a JPEG (or PNG when the image has alpha) is written for each width. */
  fallback: boolean;
  /** `srgb` converts everything to sRGB; `keep-display-p3` keeps Display-P3 input in P3. */
  colour: ColourMode;
  avif: AvifOptions;
  webp: WebpOptions;
  jpeg: JpegOptions;
  png: PngOptions;
  /** Animated input: widths of the animated WebP variants (never upscaled). */
  animatedWidths: readonly number[];
  /** Animated WebP settings. */
  animatedWebp: WebpOptions;
}

const webV1: Preset = Object.freeze<Preset>({
  name: 'web-v1',
  widths: [320, 640, 1280, 1920, 2560],
  modern: ['avif', 'webp'],
  fallback: true,
  colour: 'srgb',
  // Measured on the 12 MP benchmark photo (README "Encoder settings"): AVIF
  // effort 2 is ~6x faster than sharp's default effort 4; quality 52 (vs 50)
  // buys back the SSIM effort 2 loses, for ~19% more AVIF bytes. Progressive
  // JPEG with optimised Huffman tables saves ~3% at equal quality, which keeps
  // the total within +5% of sharp's defaults. mozjpeg was 3x slower and worse
  // per byte at q80-82 on this measure.
  avif: { quality: 52, effort: 2 },
  webp: { quality: 80, effort: 4 },
  jpeg: { quality: 80, progressive: true, optimiseCoding: true },
  png: { compressionLevel: 6, adaptiveFiltering: false, effort: 4 },
  animatedWidths: [320, 640, 1280],
  animatedWebp: { quality: 80, effort: 4 },
});

const webV1P3: Preset = Object.freeze<Preset>({
  ...webV1,
  name: 'web-v1-p3',
  colour: 'keep-display-p3',
});

/** A cheap preset (one small width, no AVIF) for previews and large test corpora. */
const previewV1: Preset = Object.freeze<Preset>({
  ...webV1,
  name: 'preview-v1',
  widths: [320],
  modern: ['webp'],
  animatedWidths: [320],
});

/** Every known preset by name. */
export const PRESETS: Record<string, Preset> = Object.freeze({
  [webV1.name]: webV1,
  [webV1P3.name]: webV1P3,
  [previewV1.name]: previewV1,
});

/** The preset used when none is named. */
export const DEFAULT_PRESET = 'web-v1';

/** Looks a preset up by name; throws a TypeError naming the known ones. */
export function getPreset(name: string): Preset {
  const preset = Object.hasOwn(PRESETS, name) ? PRESETS[name] : undefined;
  if (!preset) {
    throw new TypeError(
      `Expected one of ${Object.keys(PRESETS).join(', ')} for preset but received ${JSON.stringify(name)}`,
    );
  }
  return preset;
}
