/**
 * Format detection from magic bytes only: never the file name, never the
 * client's content type. The first 32 bytes are enough for the allow-list;
 * SVG/HTML detection looks a little further when more bytes are given.
 */

/** Source formats the pipeline accepts. */
export type SourceFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'avif' | 'tiff' | 'heic';

/** Every accepted source format. */
export const SOURCE_FORMATS: readonly SourceFormat[] = [
  'jpeg',
  'png',
  'webp',
  'gif',
  'avif',
  'tiff',
  'heic',
];

/** MIME type of each accepted source format. */
export const SOURCE_MIME: Record<SourceFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  avif: 'image/avif',
  tiff: 'image/tiff',
  heic: 'image/heic',
};

const AVIF_BRANDS = new Set(['avif', 'avis']);
const HEIC_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'hevm', 'hevs']);
const GENERIC_HEIF_BRANDS = new Set(['mif1', 'msf1', 'mif2', 'miaf']);

function ascii(head: Uint8Array, start: number, length: number): string {
  let out = '';
  for (let i = start; i < start + length && i < head.length; i++) {
    out += String.fromCharCode(head[i] ?? 0);
  }
  return out;
}

function startsWith(head: Uint8Array, bytes: readonly number[], offset = 0): boolean {
  if (head.length < offset + bytes.length) return false;
  return bytes.every((b, i) => head[offset + i] === b);
}

/** Brands of an ISO-BMFF `ftyp` box (major first), as far as `head` holds them. */
function ftypBrands(head: Uint8Array): string[] | undefined {
  if (head.length < 12 || ascii(head, 4, 4) !== 'ftyp') return undefined;
  const boxSize =
    (((head[0] ?? 0) << 24) | ((head[1] ?? 0) << 16) | ((head[2] ?? 0) << 8) | (head[3] ?? 0)) >>>
    0;
  const brands = [ascii(head, 8, 4)];
  const end = Math.min(boxSize, head.length);
  for (let offset = 16; offset + 4 <= end; offset += 4) brands.push(ascii(head, offset, 4));
  return brands;
}

/**
 * The accepted format `head` starts with, or undefined when it is not an
 * allowed image. Use {@link identifyRefused} to name what it is instead.
 */
export function sniffFormat(head: Uint8Array): SourceFormat | undefined {
  if (startsWith(head, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  const gif = ascii(head, 0, 6);
  if (gif === 'GIF87a' || gif === 'GIF89a') return 'gif';
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 4) === 'WEBP') return 'webp';
  // Classic TIFF (42) and BigTIFF (43), both byte orders.
  if (
    startsWith(head, [0x49, 0x49, 0x2a, 0x00]) ||
    startsWith(head, [0x4d, 0x4d, 0x00, 0x2a]) ||
    startsWith(head, [0x49, 0x49, 0x2b, 0x00]) ||
    startsWith(head, [0x4d, 0x4d, 0x00, 0x2b])
  ) {
    return 'tiff';
  }
  const brands = ftypBrands(head);
  if (brands) {
    const [major = ''] = brands;
    if (AVIF_BRANDS.has(major)) return 'avif';
    if (HEIC_BRANDS.has(major)) return 'heic';
    if (GENERIC_HEIF_BRANDS.has(major)) {
      // A generic HEIF container: its compatible brands say which codec.
      if (brands.some((b) => AVIF_BRANDS.has(b))) return 'avif';
      return 'heic';
    }
  }
  return undefined;
}

/** Formats that are recognised but refused, named for a precise message. */
export type RefusedKind =
  | 'svg'
  | 'html'
  | 'xml'
  | 'pdf'
  | 'jpeg2000'
  | 'jpegxl'
  | 'bmp'
  | 'ico'
  | 'psd'
  | 'zip'
  | 'text'
  | 'unknown';

/** Names what a non-allowed input looks like (for the error message and SVG's own code). */
export function identifyRefused(head: Uint8Array): RefusedKind {
  if (startsWith(head, [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20])) return 'jpeg2000';
  if (startsWith(head, [0xff, 0x4f, 0xff, 0x51])) return 'jpeg2000';
  if (startsWith(head, [0xff, 0x0a]) || ascii(head, 4, 4) === 'JXL ') return 'jpegxl';
  if (ascii(head, 0, 5) === '%PDF-') return 'pdf';
  if (ascii(head, 0, 2) === 'BM') return 'bmp';
  if (startsWith(head, [0x00, 0x00, 0x01, 0x00])) return 'ico';
  if (ascii(head, 0, 4) === '8BPS') return 'psd';
  if (ascii(head, 0, 4) === 'PK\u0003\u0004') return 'zip';
  const text = new TextDecoder('utf-8', { fatal: false })
    .decode(head.subarray(0, 4096))
    .replace(/^\uFEFF/, '')
    .trimStart()
    .toLowerCase();
  if (text.startsWith('<')) {
    if (/<svg[\s/>]/.test(text) || text.startsWith('<svg')) return 'svg';
    if (text.startsWith('<!doctype html') || text.startsWith('<html')) return 'html';
    // An XML prolog or comment before the root: SVG when the root is <svg,
    // or when the prefix ends before the root is reached (fail closed).
    if (text.startsWith('<?xml') || text.startsWith('<!--') || text.startsWith('<!doctype svg')) {
      return /<(?!\?|!)[a-z]/.test(text) ? 'xml' : 'svg';
    }
    return 'xml';
  }
  if (isMostlyText(head)) return 'text';
  return 'unknown';
}

function isMostlyText(head: Uint8Array): boolean {
  const sample = head.subarray(0, 512);
  if (sample.length === 0) return false;
  let printable = 0;
  for (const b of sample) {
    if (b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127) || b >= 128) printable++;
  }
  return printable / sample.length > 0.95;
}
