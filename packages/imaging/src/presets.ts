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

/** How one format's quality is searched per image (see quality-search.ts). */
export interface FormatSearch {
  /** The fast setting; its `quality` is where the search starts. */
  fast: EncoderOptions & { quality: number };
  /** Qualities searched, inclusive. */
  min: number;
  max: number;
  /** On the probe, the fast setting may use at most this multiple of the reference's bytes. */
  maxBytesRatio: number;
}

/** Content-aware quality: per image, from encodes of one small variant. */
export interface QualitySearch {
  /**
   * The preset this one must not be worse than: on the probe, each searched
   * format must reach the baseline's score for that format, and all formats
   * together may not take more bytes than the baseline's. A format that
   * cannot falls back to the baseline's options.
   */
  baseline: string;
  /** The probe is cut from the widest variant not wider than this (else the narrowest)… */
  probeWidth: number;
  /** …as its centre, at most this many pixels wide and high (encodes and the metric cost grow with its area). */
  probeCrop: number;
  /** Score points (SSIMULACRA 2) the fast setting must reach above the reference on the probe. */
  margin: number;
  /** Encodes of the fast setting per format, at most. */
  maxProbes: number;
  /** Score points per quality step assumed before two probes give a slope. */
  slope: number;
  /** The searched formats; the others use this preset's fixed options. */
  formats: Partial<Record<'avif' | 'webp' | 'jpeg', FormatSearch>>;
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
 * web-v2: web-v1's perceptual quality per format in under half its time on
 * photos. Chosen by measurement (bench/imaging.bench.ts; docs/performance.md
 * has the per-image table and the encoder-by-encoder figures):
 * - AVIF effort 0 instead of 2: 5.8x less AVIF CPU, and AVIF was ~80% of
 *   web-v1's encode CPU. At a fixed quality effort 0 is not reliably as
 *   good: on photos it needs q54–q55 for web-v1's SSIMULACRA 2 score, on the
 *   flat graphic and the rendered HDR gradients no quality up to q66 gets
 *   there without 70–120% more bytes. So its quality is searched per image
 *   (quality-search.ts): the 384 px centre of the 640 px variant is encoded
 *   with web-v1's AVIF setting and with effort 0 from q54 (one or two
 *   probes), and the lowest quality scoring at least 0.2 above web-v1's is
 *   used — unless it takes more than 1.2x web-v1's bytes on the probe, or
 *   any extra bytes on an image without a JPEG to pay for them (alpha), in
 *   which case the image keeps web-v1's effort 2 at q52: slower, never
 *   worse or larger. The margin and the probe size were tuned on the bench
 *   corpus: a smaller margin let the portrait fall below web-v1 (the probe
 *   misjudges by about one quality step), a larger one cost bytes.
 * - JPEG quantisation table 2 (MS-SSIM-tuned; libjpeg-turbo/mozjpeg's
 *   `-quant-table 2`) at q80: 3–10% fewer JPEG bytes than web-v1's Annex K
 *   table at an equal or higher score on every corpus image, no extra CPU;
 *   these savings pay for effort 0's extra AVIF bytes. Table 3
 *   (ImageMagick's) lost 1.5 points on the small portrait; trellis
 *   quantisation saved ~3% at an equal score for 3x the JPEG CPU; mozjpeg's
 *   defaults lost 3 points; optimised scans saved < 1% for 1.7x.
 * - WebP stays at effort 4, quality 80: effort 2 halves WebP's CPU but needs
 *   ~4% more bytes for the same score, which nothing would pay for.
 * - AVIF keeps 4:4:4: 4:2:0 saved ~30% of effort 0's CPU but needs ~3% more
 *   bytes for the same score.
 * - PNG (alpha fallback) and the animated WebP as in web-v1.
 */
const webV2: Preset = Object.freeze<Preset>({
  ...webV1,
  name: 'web-v2',
  avif: { quality: 54, effort: 0 },
  jpeg: { quality: 80, progressive: true, optimiseCoding: true, quantisationTable: 2 },
  qualitySearch: {
    baseline: 'web-v1',
    probeWidth: 640,
    probeCrop: 384,
    margin: 0.2,
    maxProbes: 2,
    slope: 1,
    formats: {
      avif: {
        fast: { quality: 54, effort: 0 },
        min: 40,
        max: 72,
        maxBytesRatio: 1.2,
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
  [webV2.name]: webV2,
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
