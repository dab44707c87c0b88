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
 * - web-v3 (the default): web-v1's perceptual quality per format and no more
 *   bytes per image, faster wherever the image allows it (docs/performance.md,
 *   "How web-v3's settings were chosen", has the per-image table and the
 *   encoder-by-encoder figures). Per image, quality-search.ts encodes the
 *   384 px centre of the 640 px variant with web-v1's and web-v3's settings
 *   and decides:
 *   - AVIF effort 0 instead of 2 (~5x less AVIF CPU; AVIF is ~70-80% of
 *     web-v1's CPU) at the lowest quality from q54 that scores at least 0.2
 *     above web-v1's AVIF on the probe, if the image's bytes allow it, else
 *     web-v1's effort 2 at q52 (slower, never worse or larger). Effort 0 needs
 *     q54-q55 on photos (+4-18% AVIF bytes) and more than +60% on flat
 *     graphics and smooth rendered gradients, which therefore keep effort 2.
 *     q54 and q55 are encoded at once (`start`, the likeliest answers). The
 *     probe is a 384 px crop: 256 px halved the metric's cost but misjudged
 *     the 12 MP phone photo by one step (it then fell back to effort 2); a
 *     whole small variant (320 or 480 px) as the probe misjudged more.
 *   - JPEG quantisation table 2 (MS-SSIM-tuned; libjpeg-turbo/mozjpeg's
 *     `-quant-table 2`) at q80: 3-10% fewer JPEG bytes than web-v1's Annex K
 *     table at an equal or higher score on every corpus image, same CPU;
 *     these savings pay for AVIF's extra bytes. When AVIF is still short, the
 *     JPEG quality is lowered (`payers`, down to q77) while it scores at least
 *     0.2 above web-v1's JPEG on the probe. Table 2 is used only when AVIF
 *     effort 0 is taken: when AVIF keeps effort 2, or the image is below
 *     `minPixels`, the JPEG is web-v1's, byte for byte. On noise-dominated
 *     images (the bench's generated stand-ins, grain of sigma 24) table 2
 *     took up to 0.3% more bytes or scored 0.19 lower, and the probe cannot
 *     tell those apart: it disagreed with the whole set on three of the seven
 *     corpus images. Table 3 (ImageMagick's) lost 1.5 points on the small
 *     portrait; trellis quantisation saved ~3% for 3x the JPEG CPU; mozjpeg's
 *     defaults lost 3 points.
 *   - PNG (images with alpha; `effort` makes it a 256-colour palette,
 *     libimagequant, as in web-v1): dithered at 0.5 instead of sharp's 1.0,
 *     deflate level 9 instead of 6. On the four alpha images measured (the
 *     corpus cutout and cutouts made from the portrait, the phone photo and
 *     the flat graphic) it scores 0.2-2.1 points higher in 5-12% fewer PNG
 *     bytes at about the same CPU; these savings pay for AVIF effort 0 where
 *     there is no JPEG. Palette effort 1 (-30% PNG CPU) lost 0.4 and 2.7
 *     points on two of the four; dither 0 lost 0.6 on the cutout: not taken.
 *   - WebP as web-v1 (effort 4, q80): effort 2 halves WebP's CPU but needs
 *     3-6% more WebP bytes for the same score; searched per image it pushed
 *     the small portrait to +1.6% bytes (the probe under-predicts), so it is
 *     not taken. On the alpha cutout effort 2 scored 0.8 higher, but 0.2-0.4
 *     lower on two other alpha images: not a property of alpha either.
 *     WebP and PNG are not searched, so their variants start at once, while
 *     the search runs, and WebP is not encoded on the probe (the same bytes
 *     on both sides of the budget).
 *   - AVIF keeps 4:4:4 chroma and 8 bits: 4:2:0 saved ~20-30% of effort 0's
 *     CPU but needed ~3% more bytes for the same score; 10 bits saved bytes
 *     on the portrait but cost +50% AVIF CPU.
 *   - `minPixels` 1,000,000: the search costs ~0.15-0.3 CPU-s (the metric in
 *     JavaScript, web-v1's AVIF of the probe) and effort 0 saves ~0.5 CPU-s
 *     per million AVIF pixels; a 480 x 320 upload (0.25 MP of variants) took
 *     1.5x web-v1's CPU with the search, so below 1 MP of variants there is
 *     none (AVIF, WebP and JPEG as web-v1, PNG as web-v3).
 *   - The animated WebP as in web-v1.
 *   web-v3 replaced web-v2 (AVIF effort 0 searched alone, JPEG table 2),
 *   which was never the default: it is no longer in the file.
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
   * search costs more than it can save: the speed formats and the payers then
   * keep the baseline's options, with no search.
   */
  minPixels: number;
  /** Score points per quality step assumed before two probes give a slope. */
  slope: number;
  /**
   * Formats with a faster setting that needs more bytes for the same score,
   * decided AVIF, WebP, JPEG (most encode time saved first, whatever the
   * file's key order): each takes its lowest passing quality when the bytes
   * fit, else the baseline's options.
   */
  speed: Partial<Record<'avif' | 'webp' | 'jpeg', FormatSearch>>;
  /**
   * Formats whose preset options save bytes at an equal score, used only when
   * the first speed format takes its faster setting (else, and below
   * `minPixels`, they take the baseline's options, so the image gets the
   * baseline's own encodes for them on any content); when that format is
   * short of bytes, their quality is lowered within this range while they
   * still reach the baseline's score.
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
