/**
 * Encoders for one variant each: still variants from the decoded
 * intermediate, animated WebP and its poster from the (small) source.
 * No metadata is copied: sharp writes none unless asked, and we only ask
 * for the colour profile.
 */
import sharp, { type Sharp } from 'sharp';
import type { Intermediate } from './decode.ts';
import { safeInputOptions } from './decode.ts';
import type { Limits } from './limits.ts';
import type { Preset } from './presets.ts';

/** One encoded variant, handed to the caller's `write`. */
export interface VariantOutput {
  /** Key suffix, e.g. `w640.avif` or `poster.w640.jpg`. */
  suffix: string;
  format: 'avif' | 'webp' | 'jpeg' | 'png';
  width: number;
  height: number;
  contentType: string;
  data: Buffer;
  animated: boolean;
  role: 'image' | 'poster';
}

/** Output format of a variant. */
export type OutputFormat = VariantOutput['format'];

const EXTENSION: Record<OutputFormat, string> = {
  avif: 'avif',
  webp: 'webp',
  jpeg: 'jpg',
  png: 'png',
};
const CONTENT_TYPE: Record<OutputFormat, string> = {
  avif: 'image/avif',
  webp: 'image/webp',
  jpeg: 'image/jpeg',
  png: 'image/png',
};

/** A pathological input must not hold a worker forever (libvips checks this between tiles). */
const ENCODE_TIMEOUT_SECONDS = 120;

function applyFormat(pipeline: Sharp, format: OutputFormat, preset: Preset): Sharp {
  switch (format) {
    case 'avif':
      return pipeline.avif(preset.avif);
    case 'webp':
      return pipeline.webp(preset.webp);
    case 'jpeg':
      return pipeline.jpeg(preset.jpeg);
    case 'png':
      return pipeline.png(preset.png);
  }
}

function output(
  data: Buffer,
  format: OutputFormat,
  width: number,
  height: number,
  role: 'image' | 'poster',
  animated: boolean,
): VariantOutput {
  const prefix = role === 'poster' ? 'poster.' : '';
  return {
    suffix: `${prefix}w${width}.${EXTENSION[format]}`,
    format,
    width,
    height,
    contentType: CONTENT_TYPE[format],
    data,
    animated,
    role,
  };
}

/** Encodes one still variant at `width` from the decoded intermediate. */
export async function encodeStill(
  source: Intermediate,
  width: number,
  format: OutputFormat,
  preset: Preset,
): Promise<VariantOutput> {
  let pipeline = sharp(source.input, source.options);
  if (width !== source.width) pipeline = pipeline.resize({ width, kernel: 'lanczos3' });
  if (!source.hasAlpha && (source.channels === 4 || source.channels === 2))
    pipeline = pipeline.removeAlpha();
  // The only metadata a variant carries is its colour profile.
  pipeline = source.keepIcc ? pipeline.keepIccProfile() : pipeline.withIccProfile('srgb');
  pipeline = applyFormat(pipeline, format, preset).timeout({ seconds: ENCODE_TIMEOUT_SECONDS });
  const { data, info } = await pipeline.toBuffer({ resolveWithObject: true });
  return output(data, format, info.width, info.height, 'image', false);
}

/** Encodes one animated WebP variant at `width` from the source. */
export async function encodeAnimated(
  input: Buffer | string,
  width: number,
  preset: Preset,
  limits: Limits,
  timing: { delay?: number[]; loop?: number },
): Promise<VariantOutput> {
  const { data, info } = await sharp(input, { ...safeInputOptions(limits), animated: true })
    .resize({ width, withoutEnlargement: true, kernel: 'lanczos3' })
    .withIccProfile('srgb')
    .webp({
      ...preset.animatedWebp,
      ...(timing.delay ? { delay: timing.delay } : {}),
      loop: timing.loop ?? 0,
    })
    .timeout({ seconds: ENCODE_TIMEOUT_SECONDS })
    .toBuffer({ resolveWithObject: true });
  const height = info.pageHeight ?? info.height;
  return output(data, 'webp', info.width, height, 'image', true);
}

/** Encodes the still poster (first frame) of an animated image. */
export async function encodePoster(
  source: Intermediate,
  width: number,
  preset: Preset,
): Promise<VariantOutput> {
  const format: OutputFormat = source.hasAlpha ? 'png' : 'jpeg';
  const still = await encodeStill(source, width, format, preset);
  return { ...still, suffix: `poster.${still.suffix}`, role: 'poster' };
}
