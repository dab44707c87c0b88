/**
 * Versioned output presets. A preset's name is part of every variant key, so
 * a preset is never changed in place: a new setting is a new version.
 * Encoder settings were chosen by measurement (bench/imaging.bench.ts and
 * README "Decisions").
 */
import type { AvifOptions, JpegOptions, PngOptions, WebpOptions } from 'sharp';

/** Output colour handling. */
export type ColourMode = 'srgb' | 'keep-display-p3';

/** Encoder options of one format. */
export type EncoderOptions = AvifOptions | WebpOptions | JpegOptions | PngOptions;

/** How one format's setting is searched per image (see quality-search.ts). */
export interface FormatSearch {
  /** The searched setting; `quality` is replaced by the searched one. */
  fast: EncoderOptions & { quality: number };
  /** Qualities searched, inclusive. */
  min: number;
  max: number;
  /** Qualities encoded at once when the search starts (the likeliest answers); it starts at the first. */
  start: readonly number[];
  /** On the probe the searched setting may take at most this multiple of the baseline's bytes. */
  maxBytesRatio: number;
}

/** Content-aware settings: per image, from encodes of one small piece of it. */
export interface QualitySearch {
  /**
   * The preset this one must not be worse than: on the probe, each format
   * must reach the baseline's score for that format, and all formats together
   * may not take more bytes than the baseline's.
   */
  baseline: string;
  /** The probe is cut from the widest variant not wider than this (else the narrowest)… */
  probeWidth: number;
  /** …as its centre, at most this many pixels wide and high (encodes and the metric cost grow with its area). */
  probeCrop: number;
  /** Score points (SSIMULACRA 2) a searched setting must reach above the baseline's on the probe. */
  margin: number;
  /** Share of the baseline's bytes on the probe that must be left unused (the probe only predicts the whole set). */
  byteMargin: number;
  /** Encodes per searched format, at most. */
  maxProbes: number;
  /**
   * Below this many variant pixels (all widths of one format together) the
   * search costs more than it can save: the speed formats then keep the
   * baseline's options and the payers the preset's, with no search.
   */
  minPixels: number;
  /** Score points per quality step assumed before two probes give a slope. */
  slope: number;
  /**
   * Formats with a faster setting that needs more bytes for the same score,
   * in the order they are decided (most encode time saved first): each takes
   * its lowest passing quality when the bytes fit, else the baseline's options.
   */
  speed: Partial<Record<'avif' | 'webp' | 'jpeg', FormatSearch>>;
  /**
   * Formats whose preset options save bytes at an equal score (used as they
   * are); when the first speed format is short of bytes, their quality is
   * lowered within this range while they still reach the baseline's score.
   */
  payers: Partial<Record<'avif' | 'webp' | 'jpeg', FormatSearch>>;
}

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
  /** Per-image quality search over some formats, or null for fixed options. */
  qualitySearch: QualitySearch | null;
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
  qualitySearch: null,
});

const webV1P3: Preset = Object.freeze<Preset>({
  ...webV1,
  name: 'web-v1-p3',
  colour: 'keep-display-p3',
});

/**
 * web-v3: web-v1's perceptual quality per format and no more bytes per image,
 * faster wherever the image allows it. Chosen by measurement
 * (bench/imaging.bench.ts; docs/performance.md, "How web-v3's settings were
 * chosen", has the per-image table and the encoder-by-encoder figures).
 * Per image, quality-search.ts encodes the 384 px centre of the 640 px
 * variant with web-v1's and web-v3's settings and decides (the values below
 * are kept as separate, flat settings per format on purpose):
 * - AVIF effort 0 instead of 2 (~5x less AVIF CPU; AVIF is ~70-80% of
 *   web-v1's CPU) at the lowest quality from q54 that scores at least 0.2
 *   above web-v1's AVIF on the probe, if the image's bytes allow it, else
 *   web-v1's effort 2 at q52 (slower, never worse or larger). Effort 0 needs
 *   q54-q55 on photos (+4-18% AVIF bytes) and more than +60% on flat
 *   graphics and smooth rendered gradients, which therefore keep effort 2.
 *   q54 and q55 are encoded at once (the likeliest answers). The probe is a
 *   384 px crop: 256 px halved the metric's cost but misjudged the 12 MP
 *   phone photo by one step (it then fell back to effort 2); a whole small
 *   variant (320 or 480 px) as the probe misjudged more (bench, 2026-12-06).
 * - JPEG quantisation table 2 (MS-SSIM-tuned; libjpeg-turbo/mozjpeg's
 *   `-quant-table 2`) at q80: 3-10% fewer JPEG bytes than web-v1's Annex K
 *   table at an equal or higher score on every corpus image, same CPU; these
 *   savings pay for AVIF's extra bytes. When AVIF is still short, the JPEG
 *   quality is lowered (down to q77) while it scores at least 0.2 above
 *   web-v1's JPEG on the probe. Table 3 (ImageMagick's) lost 1.5 points on
 *   the small portrait; trellis quantisation saved ~3% for 3x the JPEG CPU;
 *   mozjpeg's defaults lost 3 points.
 * - PNG (images with alpha) deflate level 9 instead of 6: the same pixels
 *   (so the same score) in fewer bytes at no measurable extra CPU; it pays
 *   for AVIF effort 0 where there is no JPEG.
 * - WebP as web-v1 (effort 4, q80): effort 2 halves WebP's CPU but needs
 *   3-6% more WebP bytes for the same score; searched per image it pushed
 *   the small portrait to +1.6% bytes (the probe under-predicts), so it is
 *   not taken.
 * - AVIF keeps 4:4:4 chroma and 8 bits: 4:2:0 saved ~20-30% of effort 0's
 *   CPU but needed ~3% more bytes for the same score; 10 bits saved bytes on
 *   the portrait but cost +50% AVIF CPU.
 * - The animated WebP as in web-v1.
 */
const webV3: Preset = Object.freeze<Preset>({
  ...webV1,
  name: 'web-v3',
  avif: { quality: 54, effort: 0 },
  jpeg: { quality: 80, progressive: true, optimiseCoding: true, quantisationTable: 2 },
  png: { ...webV1.png, compressionLevel: 9 },
  qualitySearch: {
    baseline: 'web-v1',
    probeWidth: 640,
    probeCrop: 384,
    margin: 0.2,
    byteMargin: 0,
    maxProbes: 3,
    // The search costs ~0.15-0.3 CPU-s (the metric in JavaScript, web-v1's
    // AVIF of the probe); effort 0 saves ~0.5 CPU-s per million AVIF pixels.
    // A 480 x 320 upload (0.25 MP of variants) took 1.5x web-v1's CPU with
    // the search; from 1 MP of variants on it pays for itself about twice.
    minPixels: 1_000_000,
    slope: 1.2,
    speed: {
      avif: {
        fast: { quality: 54, effort: 0 },
        min: 54,
        max: 66,
        start: [54, 55],
        maxBytesRatio: 1.3,
      },
    },
    payers: {
      jpeg: {
        fast: { quality: 80, progressive: true, optimiseCoding: true, quantisationTable: 2 },
        min: 77,
        max: 80,
        start: [],
        maxBytesRatio: 1,
      },
    },
  },
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
  [webV3.name]: webV3,
  [previewV1.name]: previewV1,
});

/** The preset used when none is named. */
export const DEFAULT_PRESET = 'web-v3';

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
