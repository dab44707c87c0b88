/**
 * Validation from a file's first bytes, before any pixel is decoded and
 * without sharp: size, magic bytes, the allow-list, then the dimensions and
 * frames a container header declares, against the limits. The backend checks
 * uploads with this alone (through `@slideshow/imaging/header`), so it never
 * loads libvips; {@link probe} in probe.ts adds libvips' header read.
 */
import { formatBytes, imageError } from './errors.ts';
import { type ApngFacts, type HeaderFacts, readHeader } from './header.ts';
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
  /**
   * Set for an APNG: `frames` above stays 1, as libvips decodes only its default image
   * (the `IDAT`), never the animation's frames.
   */
  apng?: ApngFacts;
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

/** Refuses an empty file and one over `limits.maxBytes` (when its size is known). */
export function checkBytes(bytes: number | undefined, limits: Limits): void {
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

/** The allowed format the magic bytes name, or a coded refusal that names what the data is. */
export function sniffOrRefuse(head: Uint8Array): SourceFormat {
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
  if (facts.apng) result.apng = facts.apng;
  return result;
}
