/**
 * Reads dimensions, frame count and alpha straight from the container
 * headers of PNG, GIF, JPEG and WebP, so limits can be enforced on a prefix
 * of an upload (or before libvips sees the file), and whether a PNG is an
 * APNG, which libvips does not say. Anything the prefix does not hold is left
 * undefined.
 */
import type { SourceFormat } from './sniff.ts';

/** What a header told us. */
export interface HeaderFacts {
  width?: number;
  height?: number;
  /** Exact only when the whole file was read; otherwise a lower bound in `minFrames`. */
  frames?: number;
  minFrames?: number;
  hasAlpha?: boolean;
  orientation?: number;
  /** A PNG that is an APNG (an `acTL` chunk before its first `IDAT`). */
  apng?: ApngFacts;
}

/**
 * What an APNG's chunks before its image data declare (https://wiki.mozilla.org/APNG_Specification).
 * libvips reads only the PNG's default image, the `IDAT` one, and no APNG frame.
 */
export interface ApngFacts {
  /** `num_frames` of the `acTL` chunk: the animation's frames. */
  frames: number;
  /**
   * Whether the default image is the animation's first frame (an `fcTL` chunk precedes
   * the `IDAT`); when false it is an image of its own that only viewers without APNG
   * support show, and the animation starts with the first `fdAT` frame. Undefined when the
   * prefix ends before the `IDAT`.
   */
  defaultImageAnimated?: boolean;
}

const u16be = (b: Uint8Array, o: number): number => ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
const u16le = (b: Uint8Array, o: number): number => (b[o] ?? 0) | ((b[o + 1] ?? 0) << 8);
const u24le = (b: Uint8Array, o: number): number => u16le(b, o) | ((b[o + 2] ?? 0) << 16);
const u32be = (b: Uint8Array, o: number): number => ((u16be(b, o) << 16) | u16be(b, o + 2)) >>> 0;
const u32le = (b: Uint8Array, o: number): number => ((u16le(b, o + 2) << 16) | u16le(b, o)) >>> 0;
const tag = (b: Uint8Array, o: number): string =>
  String.fromCharCode(b[o] ?? 0, b[o + 1] ?? 0, b[o + 2] ?? 0, b[o + 3] ?? 0);

/** Parses what it can; `complete` says whether `head` is the whole file. */
export function readHeader(format: SourceFormat, head: Uint8Array, complete: boolean): HeaderFacts {
  switch (format) {
    case 'png':
      return readPng(head);
    case 'gif':
      return readGif(head, complete);
    case 'jpeg':
      return readJpeg(head);
    case 'webp':
      return readWebp(head, complete);
    default:
      return {};
  }
}

function readPng(b: Uint8Array): HeaderFacts {
  if (b.length < 26 || tag(b, 12) !== 'IHDR') return {};
  const colourType = b[25] ?? 0;
  // Colour types 4 and 6 carry alpha; a tRNS chunk may add it later (sharp's metadata decides).
  const facts: HeaderFacts = {
    width: u32be(b, 16),
    height: u32be(b, 20),
    // An APNG's frames are not counted: only its default image is ever decoded.
    frames: 1,
    hasAlpha: colourType === 4 || colourType === 6,
  };
  const apng = readApngControl(b);
  if (apng) facts.apng = apng;
  return facts;
}

/**
 * The APNG animation control chunk, which the APNG specification puts before the first
 * `IDAT` (an `acTL` after it does not make an APNG), and whether an `fcTL` precedes that
 * `IDAT` too. Walks the chunks from the IHDR as far as `b` goes.
 */
function readApngControl(b: Uint8Array): ApngFacts | undefined {
  let apng: ApngFacts | undefined;
  let frameControl = false;
  for (let offset = 8; offset + 8 <= b.length; offset += 12 + u32be(b, offset)) {
    const type = tag(b, offset + 4);
    if (type === 'IDAT') {
      if (apng) apng.defaultImageAnimated = frameControl;
      return apng;
    }
    if (type === 'acTL' && offset + 16 <= b.length) apng = { frames: u32be(b, offset + 8) };
    if (type === 'fcTL') frameControl = true;
  }
  return apng;
}

function readGif(b: Uint8Array, complete: boolean): HeaderFacts {
  if (b.length < 13) return {};
  const facts: HeaderFacts = { width: u16le(b, 6), height: u16le(b, 8) };
  let offset = 13;
  const flags = b[10] ?? 0;
  if (flags & 0x80) offset += 3 * 2 ** ((flags & 0x07) + 1);
  let frames = 0;
  let transparent = false;
  const skipSubBlocks = (): void => {
    while (offset < b.length) {
      const size = b[offset] ?? 0;
      offset += 1;
      if (size === 0) return;
      offset += size;
    }
  };
  while (offset < b.length) {
    const block = b[offset];
    if (block === 0x3b) {
      facts.frames = frames;
      break;
    }
    if (block === 0x21) {
      // Graphic control extension: bit 0 of its packed byte = transparency.
      if (b[offset + 1] === 0xf9 && ((b[offset + 3] ?? 0) & 0x01) === 1) transparent = true;
      offset += 2;
      skipSubBlocks();
    } else if (block === 0x2c) {
      frames++;
      const packed = b[offset + 9] ?? 0;
      offset += 10;
      if (packed & 0x80) offset += 3 * 2 ** ((packed & 0x07) + 1);
      offset += 1; // LZW minimum code size
      skipSubBlocks();
    } else {
      break;
    }
  }
  if (facts.frames === undefined && complete && frames > 0) facts.frames = frames;
  facts.minFrames = frames;
  facts.hasAlpha = transparent;
  return facts;
}

const SOF_MARKERS = new Set([
  0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf,
]);

function readJpeg(b: Uint8Array): HeaderFacts {
  const facts: HeaderFacts = { frames: 1, hasAlpha: false };
  let offset = 2;
  while (offset + 4 <= b.length) {
    if (b[offset] !== 0xff) return facts;
    const marker = b[offset + 1] ?? 0;
    if (marker === 0xff) {
      offset += 1;
      continue;
    }
    const length = u16be(b, offset + 2);
    if (marker === 0xe1 && tag(b, offset + 4) === 'Exif') {
      const orientation = readExifOrientation(
        b,
        offset + 10,
        Math.min(b.length, offset + 2 + length),
      );
      if (orientation !== undefined) facts.orientation = orientation;
    }
    if (SOF_MARKERS.has(marker) && offset + 9 <= b.length) {
      facts.height = u16be(b, offset + 5);
      facts.width = u16be(b, offset + 7);
      return facts;
    }
    if (marker === 0xda) return facts;
    offset += 2 + length;
  }
  return facts;
}

/** EXIF IFD0 tag 0x0112, from a TIFF structure starting at `start`. */
function readExifOrientation(b: Uint8Array, start: number, end: number): number | undefined {
  const little = tag(b, start).startsWith('II');
  const r16 = (o: number): number => (little ? u16le(b, o) : u16be(b, o));
  const r32 = (o: number): number => (little ? u32le(b, o) : u32be(b, o));
  const ifd = start + r32(start + 4);
  if (ifd + 2 > end) return undefined;
  const count = r16(ifd);
  for (let i = 0; i < count && ifd + 2 + i * 12 + 12 <= end; i++) {
    const entry = ifd + 2 + i * 12;
    if (r16(entry) === 0x0112) {
      const value = r16(entry + 8);
      return value >= 1 && value <= 8 ? value : undefined;
    }
  }
  return undefined;
}

function readWebp(b: Uint8Array, complete: boolean): HeaderFacts {
  const facts: HeaderFacts = {};
  const first = tag(b, 12);
  if (first === 'VP8 ' && b.length >= 30) {
    return {
      width: u16le(b, 26) & 0x3fff,
      height: u16le(b, 28) & 0x3fff,
      frames: 1,
      hasAlpha: false,
    };
  }
  if (first === 'VP8L' && b.length >= 25) {
    const bits = u32le(b, 21);
    return {
      width: (bits & 0x3fff) + 1,
      height: ((bits >>> 14) & 0x3fff) + 1,
      frames: 1,
      hasAlpha: ((bits >>> 28) & 1) === 1,
    };
  }
  if (first !== 'VP8X' || b.length < 30) return facts;
  const flags = b[20] ?? 0;
  facts.width = u24le(b, 24) + 1;
  facts.height = u24le(b, 27) + 1;
  facts.hasAlpha = (flags & 0x10) !== 0;
  if ((flags & 0x02) === 0) {
    facts.frames = 1;
    return facts;
  }
  // Animated: count ANMF chunks as far as the prefix goes.
  let frames = 0;
  let offset = 12;
  while (offset + 8 <= b.length) {
    const size = u32le(b, offset + 4);
    if (tag(b, offset) === 'ANMF') frames++;
    offset += 8 + size + (size % 2);
  }
  facts.minFrames = frames;
  if (complete && offset >= b.length) facts.frames = frames;
  return facts;
}
