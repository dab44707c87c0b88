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
 * web-v2: web-v1's perceptual quality per format at under half its time.
 * Chosen by measurement (bench/imaging.bench.ts; docs/performance.md has the
 * per-image table):
 * - AVIF effort 0 instead of 2: ~5x less AVIF CPU (AVIF was ~70% of the
 *   whole). At a fixed quality effort 0 is not reliably as good: it needs
 *   ~2 more quality steps for web-v1's score on photos and many more on
 *   smooth gradients, so its quality is searched per image to reach web-v1's
 *   SSIMULACRA 2 score on the probe, and an image where that costs more
 *   bytes than allowed keeps effort 2 at quality 52 (web-v1's setting).
 * - JPEG quantisation table 2 (MS-SSIM-tuned, libjpeg-turbo/mozjpeg's
 *   `-quant-table 2`): 6–10% fewer bytes than the default Annex K table at
 *   the same SSIMULACRA 2 score and no extra CPU; its quality is searched
 *   the same way. Table 3 (ImageMagick's) saved fewer bytes and lost quality
 *   on the small portrait; trellis quantisation saved ~3% more at 3x the
 *   CPU; optimised scans ~1% at 2x.
 * - WebP stays at effort 4, quality 80: effort 2 halves WebP's CPU but needs
 *   ~4% more bytes for the same score, and the time target is met without it.
 * - Chroma: AVIF keeps 4:4:4 (4:2:0 saved ~15% of AVIF CPU at ~3% more
 *   bytes for the same score); JPEG and WebP keep their 4:2:0 default.
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
