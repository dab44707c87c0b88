/**
 * Encoders for one variant each: still variants from the decoded
 * intermediate, animated WebP and its poster from the (small) source.
 * No metadata is copied: sharp writes none unless asked, and we only ask
 * for the colour profile.
 */
import sharp, {
  type AvifOptions,
  type JpegOptions,
  type PngOptions,
  type ResizeOptions,
  type Sharp,
  type SharpOptions,
  type WebpOptions,
} from 'sharp';
import type { Intermediate } from './decode.ts';
import { safeInputOptions } from './decode.ts';
import type { Limits } from './limits.ts';
import type { EncoderOptions, Preset } from './presets.ts';
import { variantHeight } from './variant-size.ts';

export type { EncoderOptions } from './presets.ts';

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

/**
 * The intermediate resized to one variant width, as raw pixels: made once per
 * width and shared by every format of that width (a Lanczos-3 resize of a
 * 2560 px intermediate costs about as much as a JPEG encode of the result).
 */
export interface Resized {
  input: Buffer;
  options: SharpOptions;
  width: number;
  height: number;
  channels: number;
  hasAlpha: boolean;
  keepIcc: boolean;
}

/**
 * Resizes the intermediate to `width` (no-op at the intermediate's own width),
 * its height bounded by the encoders' limit (variant-size.ts).
 */
export async function resizeTo(source: Intermediate, width: number): Promise<Resized> {
  const height = variantHeight(width, source);
  if (width === source.width && height === source.height) return source;
  let pipeline = sharp(source.input, source.options).resize(resizeBox(width, height, source));
  if (source.keepIcc) {
    // A Display-P3 intermediate is a PNG carrying its profile; raw pixels cannot.
    const { data, info } = await pipeline
      .keepIccProfile()
      .png({ compressionLevel: 0 })
      .toBuffer({ resolveWithObject: true });
    return { ...source, input: data, options: {}, width: info.width, height: info.height };
  }
  pipeline = pipeline.timeout({ seconds: ENCODE_TIMEOUT_SECONDS });
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  const raw = { width: info.width, height: info.height, channels: info.channels };
  return { ...source, input: data, options: { raw }, width: info.width, height: info.height };
}

/**
 * sharp's resize options for a `width` × `height` variant: the width alone
 * (sharp keeps the aspect ratio) unless the height had to be bounded.
 */
function resizeBox(
  width: number,
  height: number,
  source: { width: number; height: number },
): ResizeOptions {
  const bounded = height < Math.round((width * source.height) / source.width);
  return bounded
    ? { width, height, fit: 'fill', kernel: 'lanczos3' }
    : { width, kernel: 'lanczos3' };
}

function withOptions(pipeline: Sharp, format: OutputFormat, options: EncoderOptions): Sharp {
  switch (format) {
    case 'avif':
      return pipeline.avif(options as AvifOptions);
    case 'webp':
      return pipeline.webp(options as WebpOptions);
    case 'jpeg':
      return pipeline.jpeg(options as JpegOptions);
    case 'png':
      return pipeline.png(options as PngOptions);
  }
}

/** Encodes already-resized pixels in one format with explicit encoder options. */
export async function encodeResized(
  image: Resized,
  format: OutputFormat,
  options: EncoderOptions,
): Promise<VariantOutput> {
  let pipeline = sharp(image.input, image.options);
  if (!image.hasAlpha && (image.channels === 4 || image.channels === 2))
    pipeline = pipeline.removeAlpha();
  // The only metadata a variant carries is its colour profile.
  pipeline = image.keepIcc ? pipeline.keepIccProfile() : pipeline.withIccProfile('srgb');
  pipeline = withOptions(pipeline, format, options).timeout({ seconds: ENCODE_TIMEOUT_SECONDS });
  const { data, info } = await pipeline.toBuffer({ resolveWithObject: true });
  return output(data, format, info.width, info.height, 'image', false);
}

/** Encodes one still variant at `width` from the decoded intermediate, with the preset's options. */
export async function encodeStill(
  source: Intermediate,
  width: number,
  format: OutputFormat,
  preset: Preset,
): Promise<VariantOutput> {
  return encodeResized(await resizeTo(source, width), format, presetOptions(preset, format));
}

/** The centre of `image`, at most `size` × `size` pixels (the image itself when it fits). */
export async function centreCrop(image: Resized, size: number): Promise<Resized> {
  if (image.width <= size && image.height <= size) return image;
  const width = Math.min(size, image.width);
  const height = Math.min(size, image.height);
  const left = Math.floor((image.width - width) / 2);
  const top = Math.floor((image.height - height) / 2);
  const pipeline = sharp(image.input, image.options).extract({ left, top, width, height });
  if (image.keepIcc) {
    const data = await pipeline.keepIccProfile().png({ compressionLevel: 0 }).toBuffer();
    return { ...image, input: data, options: {}, width, height };
  }
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  const raw = { width, height, channels: info.channels };
  return { ...image, input: data, options: { raw }, width, height };
}

/**
 * Relative CPU cost of encoding one pixel, to start the longest encodes
 * first. Measured on the 12 MP benchmark photo with one libvips thread
 * (bench/imaging.bench.ts): AVIF effort 2 ≈ 0.6 µs/px, effort 0 ≈ 0.1,
 * WebP effort 4 ≈ 0.13, effort 2 ≈ 0.07, JPEG ≈ 0.03, PNG ≈ 0.1.
 */
export function encodeCost(format: OutputFormat, options: EncoderOptions): number {
  const effort = (options as { effort?: number }).effort ?? 4;
  switch (format) {
    case 'avif':
      return effort === 0 ? 0.1 : 0.3 * effort;
    case 'webp':
      return effort <= 2 ? 0.07 : 0.13;
    case 'jpeg':
      return 0.03;
    case 'png':
      return 0.1;
  }
}

/** The preset's encoder options for `format`. */
export function presetOptions(preset: Preset, format: OutputFormat): EncoderOptions {
  return preset[format];
}

/** Encodes one animated WebP variant at `width` from the source. */
export async function encodeAnimated(
  input: Buffer | string,
  width: number,
  preset: Preset,
  limits: Limits,
  timing: { delay?: number[]; loop?: number },
  frame: { width: number; height: number },
): Promise<VariantOutput> {
  const box = resizeBox(width, variantHeight(width, frame), frame);
  const { data, info } = await sharp(input, { ...safeInputOptions(limits), animated: true })
    .resize({ ...box, withoutEnlargement: true })
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
