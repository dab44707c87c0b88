/**
 * Output presets: their type, and the presets of the repository's preset file
 * (`packages/imaging/presets.json`, validated by preset-config.ts). A preset's
 * name is part of every variant key and its content hash is its version
 * (preset-config.ts `presetVersion`), so an edited preset is a new version.
 *
 * Why the shipped values are what they are (measured: bench/imaging.bench.ts,
 * README "Decisions", docs/performance.md):
 * - web-v1: AVIF effort 2 is ~6x faster than sharp's default effort 4;
 *   quality 52 (vs 50) buys back the SSIM effort 2 loses, for ~19% more AVIF
 *   bytes. Progressive JPEG with optimised Huffman tables saves ~3% at equal
 *   quality, which keeps the total within +5% of sharp's defaults. mozjpeg
 *   was 3x slower and worse per byte at q80-82 on this measure.
 * - web-v1-p3: web-v1 keeping Display-P3 input in P3.
 * - web-v2: web-v1's perceptual quality per format in under half its time on
 *   photos. AVIF effort 0 instead of 2 (5.8x less AVIF CPU) with its quality
 *   searched per image (quality-search.ts): the 384 px centre of the 640 px
 *   variant is encoded with web-v1's AVIF setting and with effort 0 from q54,
 *   and the lowest quality scoring at least 0.2 above web-v1's is used —
 *   unless it takes more than 1.2x web-v1's bytes on the probe, or any extra
 *   bytes on an image without a JPEG to pay for them (alpha), in which case
 *   the image keeps web-v1's effort 2 at q52. JPEG quantisation table 2
 *   (libjpeg-turbo/mozjpeg's `-quant-table 2`) at q80: 3-10% fewer JPEG bytes
 *   at an equal or higher score, no extra CPU. WebP stays at effort 4 q80
 *   (effort 2 needs ~4% more bytes for the same score); AVIF keeps 4:4:4
 *   (4:2:0 needs ~3% more bytes for the same score).
 * - preview-v1: one small width, no AVIF, for previews and large test corpora.
 * - `neverLarger` on every shipped preset: outputs larger than they need to
 *   be are a recurring complaint against managed resizers (process.ts).
 */

import type { AvifOptions, JpegOptions, PngOptions, WebpOptions } from 'sharp';
import presetFile from '../presets.json' with { type: 'json' };
import { type PresetSet, parsePresetFile, presetFrom } from './preset-config.ts';

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
  /** Whether a ThumbHash placeholder is computed. */
  placeholder: boolean;
  /** Animated input: `webp` keeps the animation (plus a poster), `still` keeps the first frame. */
  animated: 'webp' | 'still';
  /** Skip a variant not smaller than the next wider one of its format (process.ts, "never larger"). */
  neverLarger: boolean;
}

/** The repository's presets (`packages/imaging/presets.json`), validated at import. */
export const BUILT_IN_PRESETS: PresetSet = parsePresetFile(
  presetFile,
  'packages/imaging/presets.json',
);

/** Every preset of the repository's file by name. */
export const PRESETS: Readonly<Record<string, Preset>> = BUILT_IN_PRESETS.presets;

/** The preset used when none is named (the file's `default`). */
export const DEFAULT_PRESET: string = BUILT_IN_PRESETS.default;

/** Looks a preset up by name; throws a TypeError naming the known ones. */
export function getPreset(name: string): Preset {
  return presetFrom(BUILT_IN_PRESETS, name);
}
