/**
 * Decode once: one sharp pipeline reads the source (shrink-on-load for JPEG,
 * sequential read), applies EXIF orientation, converts to sRGB and resizes to
 * the largest width any variant needs, into raw pixels every variant is then
 * encoded from. libvips never decodes the original a second time.
 */
import { readFile } from 'node:fs/promises';
import { coerceError } from '@slideshow/runtime';
import sharp, { type Sharp, type SharpOptions } from 'sharp';
import { fromSharpError } from './errors.ts';
import { heicInput } from './heic-colour.ts';
import { isDisplayP3 } from './icc.ts';
import type { Limits } from './limits.ts';
import type { RawImage } from './placeholder.ts';
import type { Preset } from './presets.ts';
import type { ProbeResult } from './probe-header.ts';
import type { SourceFormat } from './sniff.ts';

/**
 * Decoded, oriented pixels at the largest needed size, ready for encoding:
 * raw sRGB pixels, or (Display-P3 presets on P3 input) an uncompressed PNG
 * that carries the P3 profile, because raw pixels cannot carry a profile and
 * tagging them later would convert them from sRGB a second time.
 */
export interface Intermediate {
  input: Buffer;
  options: SharpOptions;
  width: number;
  height: number;
  channels: number;
  /** True when the image has an alpha channel that is not fully opaque. */
  hasAlpha: boolean;
  /** Keep the intermediate's ICC profile (Display-P3) instead of tagging sRGB. */
  keepIcc: boolean;
}

/**
 * Options every read of untrusted input uses: limits and strict decoding stay
 * on. failOn 'error' rejects truncated and corrupt data (a half-grey image is
 * worse than a refusal). For JPEG it is 'warning': libjpeg reports scan data
 * that runs out before a marker ("Corrupt JPEG data: premature end of data
 * segment" — a truncated file with an EOI appended, or a 270-byte file whose
 * SOF declares 9999 × 9999) and bad Huffman codes only as warnings, and then
 * fills the rest with grey. Every JPEG of ../shared/corpus and of the default
 * suite decodes the same with it (packages/imaging/README.md, step 2).
 */
export function safeInputOptions(limits: Limits, format?: SourceFormat): SharpOptions {
  const failOn = format === 'jpeg' ? 'warning' : 'error';
  return { failOn, limitInputPixels: limits.maxPixels, sequentialRead: true };
}

function allOpaque(raw: RawImage): boolean {
  if (raw.channels !== 4 && raw.channels !== 2) return true;
  const { data, channels } = raw;
  for (let i = channels - 1; i < data.length; i += channels) {
    if (data[i] !== 255) return false;
  }
  return true;
}

/** Decodes a still image once into raw pixels no wider than `maxWidth`. */
export async function decodeStill(
  input: Buffer | string,
  info: ProbeResult,
  preset: Preset,
  limits: Limits,
  maxWidth: number,
): Promise<Intermediate> {
  try {
    let pipeline: Sharp;
    let keepIcc = false;
    let resized = false;
    if (info.format === 'heic') {
      const bytes = typeof input === 'string' ? await readFile(input) : input;
      const heic = await heicInput(bytes, limits.maxPixels, maxWidth);
      ({ pipeline, resized } = heic);
      keepIcc = preset.colour === 'keep-display-p3' && isDisplayP3(heic.icc);
    } else {
      pipeline = sharp(input, { ...safeInputOptions(limits, info.format), autoOrient: true });
      if (preset.colour === 'keep-display-p3') {
        const { icc } = await pipeline.metadata();
        keepIcc = isDisplayP3(icc);
      }
    }
    if (info.width > maxWidth && !resized)
      pipeline = pipeline.resize({ width: maxWidth, kernel: 'lanczos3' });
    // Without keepIccProfile sharp transforms from the embedded profile (or
    // its CMYK fallback profile) to sRGB; toColourspace makes 16-bit, grey
    // and CMYK input all 8-bit sRGB so every encoder gets the same layout.
    if (keepIcc) {
      const { data, info: out } = await pipeline
        .keepIccProfile()
        .png({ compressionLevel: 0 })
        .toBuffer({ resolveWithObject: true });
      const { isOpaque } = await sharp(data).stats();
      const base = { width: out.width, height: out.height, channels: out.channels, keepIcc: true };
      return { ...base, input: data, options: {}, hasAlpha: out.hasAlpha && !isOpaque };
    }
    const { data, info: out } = await pipeline
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    const raw: RawImage = { data, width: out.width, height: out.height, channels: out.channels };
    return {
      input: data,
      options: { raw },
      width: raw.width,
      height: raw.height,
      channels: raw.channels,
      hasAlpha: out.hasAlpha && !allOpaque(raw),
      keepIcc: false,
    };
  } catch (error) {
    throw fromSharpError(coerceError(error), { format: info.format, stage: 'decode' });
  }
}
