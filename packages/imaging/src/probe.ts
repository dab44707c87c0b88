/**
 * Validation of an input before any pixel is decoded: size, magic bytes,
 * allow-list, then dimensions/frames from the header against the limits.
 */
import { open, stat } from 'node:fs/promises';
import { coerceError } from '@slideshow/runtime';
import sharp, { type Metadata } from 'sharp';
import { formatBytes, fromSharpError, imageError } from './errors.ts';
import { type HeaderFacts, readHeader } from './header.ts';
import { type Limits, resolveLimits } from './limits.ts';
import {
  identifyRefused,
  type RefusedKind,
  SOURCE_MIME,
  type SourceFormat,
  sniffFormat,
} from './sniff.ts';

/** What validation learned about an accepted image. */
export interface ProbeResult {
  format: SourceFormat;
  mime: string;
  /** Width after EXIF orientation (one frame). */
  width: number;
  /** Height after EXIF orientation (one frame). */
  height: number;
  frames: number;
  hasAlpha: boolean;
  /** EXIF orientation 1–8 (1 when absent). */
  orientation: number;
  bytes: number;
}

/** How many leading bytes are read for sniffing and header parsing. */
export const HEAD_BYTES = 256 * 1024;

const ALLOWED = 'a JPEG, PNG, WebP, GIF, AVIF, TIFF or HEIC image';

const REFUSED_NAMES: Record<RefusedKind, string> = {
  svg: 'an SVG document',
  html: 'an HTML document',
  xml: 'an XML document',
  pdf: 'a PDF document',
  jpeg2000: 'a JPEG 2000 image',
  jpegxl: 'a JPEG XL image',
  bmp: 'a BMP image',
  ico: 'an ICO icon',
  psd: 'a Photoshop document',
  zip: 'a ZIP archive',
  text: 'a text file',
  unknown: 'data in an unrecognised format',
};

function checkBytes(bytes: number | undefined, limits: Limits): void {
  if (bytes === 0)
    throw imageError('EMPTY_FILE', 'Expected an image but received an empty file (0 bytes)');
  if (bytes !== undefined && bytes > limits.maxBytes) {
    throw imageError(
      'FILE_TOO_LARGE',
      `Expected a file of at most ${formatBytes(limits.maxBytes)} but received ${formatBytes(bytes)}`,
      { bytes, maxBytes: limits.maxBytes },
    );
  }
}

function sniffOrRefuse(head: Uint8Array): SourceFormat {
  const format = sniffFormat(head);
  if (format) return format;
  const kind = identifyRefused(head);
  if (kind === 'svg') {
    throw imageError(
      'SVG_NOT_ALLOWED',
      `Expected ${ALLOWED} but received an SVG document; SVG is refused because it can run scripts and fetch external resources`,
    );
  }
  throw imageError(
    'UNSUPPORTED_FORMAT',
    `Expected ${ALLOWED} but received ${REFUSED_NAMES[kind]}`,
    { kind },
  );
}

/** Enforces the pixel, frame and dimension limits on whatever is known. */
export function checkLimits(facts: HeaderFacts, limits: Limits): void {
  const { width, height } = facts;
  const frames = facts.frames ?? facts.minFrames;
  if (width !== undefined && height !== undefined) {
    if (width === 0 || height === 0) {
      throw imageError(
        'CORRUPT_IMAGE',
        `Expected positive dimensions but the header declares ${width}x${height}`,
      );
    }
    const pixels = width * height;
    if (pixels > limits.maxPixels) {
      throw imageError(
        'TOO_MANY_PIXELS',
        `Expected at most ${limits.maxPixels} pixels but the header declares ${width}x${height} (${pixels} pixels)`,
        { width, height, maxPixels: limits.maxPixels },
      );
    }
  }
  if (frames !== undefined && frames > limits.maxFrames) {
    throw imageError(
      'TOO_MANY_FRAMES',
      `Expected at most ${limits.maxFrames} frames but received ${facts.frames === undefined ? 'more than ' : ''}${frames}`,
      { frames, maxFrames: limits.maxFrames },
    );
  }
  if (width !== undefined && height !== undefined) {
    const total = width * height * (frames ?? 1);
    if (total > limits.maxPixels) {
      throw imageError(
        'TOO_MANY_PIXELS',
        `Expected at most ${limits.maxPixels} pixels over all frames but received ${frames} frames of ${width}x${height} (${total} pixels)`,
        { width, height, frames, maxPixels: limits.maxPixels },
      );
    }
    const longest = Math.max(width, height);
    if (longest > limits.maxDimension) {
      throw imageError(
        'DIMENSIONS_TOO_LARGE',
        `Expected each side to be at most ${limits.maxDimension} pixels but received ${width}x${height}`,
        { width, height, maxDimension: limits.maxDimension },
      );
    }
  }
}

/**
 * Validates what a prefix of an upload can already tell: size, magic bytes,
 * SVG refusal, and the dimensions/frames PNG, GIF, JPEG and WebP declare in
 * their first bytes (AVIF, HEIC and TIFF dimensions are left to {@link probe}).
 */
export async function probeHeader(
  head: Buffer,
  totalBytes: number | undefined,
  limits?: Partial<Limits>,
): Promise<Partial<ProbeResult> & { format: SourceFormat }> {
  const resolved = resolveLimits(limits);
  checkBytes(totalBytes ?? (head.length === 0 ? 0 : undefined), resolved);
  const format = sniffOrRefuse(head);
  const complete = totalBytes !== undefined && head.length >= totalBytes;
  const facts = readHeader(format, head, complete);
  checkLimits(facts, resolved);
  const result: Partial<ProbeResult> & { format: SourceFormat } = {
    format,
    mime: SOURCE_MIME[format],
  };
  if (totalBytes !== undefined) result.bytes = totalBytes;
  const orientation = facts.orientation ?? 1;
  result.orientation = orientation;
  if (facts.width !== undefined && facts.height !== undefined) {
    const swap = orientation >= 5;
    result.width = swap ? facts.height : facts.width;
    result.height = swap ? facts.width : facts.height;
  }
  if (facts.frames !== undefined) result.frames = facts.frames;
  if (facts.hasAlpha !== undefined) result.hasAlpha = facts.hasAlpha;
  return result;
}

async function readHead(path: string): Promise<{ head: Buffer; bytes: number }> {
  const info = await stat(path);
  const handle = await open(path, 'r');
  try {
    const length = Math.min(info.size, HEAD_BYTES);
    const head = Buffer.alloc(length);
    await handle.read(head, 0, length, 0);
    return { head, bytes: info.size };
  } finally {
    await handle.close();
  }
}

/**
 * Full validation of a complete input (Buffer or file path) from its header,
 * without decoding pixels. Throws an AppError with an image error code.
 */
export async function probe(
  input: Buffer | string,
  limits?: Partial<Limits>,
): Promise<ProbeResult> {
  const resolved = resolveLimits(limits);
  const { head, bytes } =
    typeof input === 'string'
      ? await readHead(input)
      : { head: input.subarray(0, HEAD_BYTES), bytes: input.length };
  checkBytes(bytes, resolved);
  let format = sniffOrRefuse(head);
  const facts = readHeader(format, typeof input === 'string' ? head : input, bytes <= head.length);
  checkLimits(facts, resolved);

  let metadata: Metadata;
  try {
    metadata = await sharp(input, {
      failOn: 'error',
      limitInputPixels: resolved.maxPixels,
    }).metadata();
  } catch (error) {
    throw fromSharpError(coerceError(error), { format });
  }
  // A generic HEIF container is AVIF or HEIC by its codec, not its brand.
  if (metadata.format === 'heif' && metadata.compression) {
    format = metadata.compression === 'av1' ? 'avif' : 'heic';
  }
  const frames = metadata.pages ?? 1;
  const frameHeight = metadata.pageHeight ?? metadata.height;
  checkLimits({ width: metadata.width, height: frameHeight, frames }, resolved);
  const orientation = metadata.orientation ?? 1;
  const swap = orientation >= 5 && frames === 1;
  return {
    format,
    mime: SOURCE_MIME[format],
    width: swap ? frameHeight : metadata.width,
    height: swap ? metadata.width : frameHeight,
    frames,
    hasAlpha: metadata.hasAlpha || facts.hasAlpha === true,
    orientation,
    bytes,
  };
}
