/**
 * Full validation of a complete input before any pixel is decoded: the
 * header checks of probe-header.ts, then libvips' own header read (AVIF,
 * HEIC and TIFF dimensions, pages) against the same limits.
 */
import { open, stat } from 'node:fs/promises';
import { coerceError } from '@slideshow/runtime';
import sharp, { type Metadata } from 'sharp';
import { fromSharpError } from './errors.ts';
import { readHeader } from './header.ts';
import { type Limits, resolveLimits } from './limits.ts';
import {
  checkBytes,
  checkLimits,
  HEAD_BYTES,
  type ProbeResult,
  sniffOrRefuse,
} from './probe-header.ts';
import { SOURCE_MIME } from './sniff.ts';

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
    ...(format === 'png' && facts.apng ? { apng: facts.apng } : {}),
  };
}
