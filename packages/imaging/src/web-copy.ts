/**
 * The original as the never-larger rule may serve it (never-larger.ts): its
 * image data re-serialised from an allow-list of JPEG segments, PNG chunks or
 * WebP chunks, so that no other byte of the upload — comments, APPn segments,
 * text chunks, unknown chunks, whatever follows the end marker (an appended
 * ZIP, a second JPEG) — can reach a public variant. A container this does not
 * know how to rebuild gives `undefined` and the variant is re-encoded.
 *
 * Kept: JPEG SOI, DQT, DHT, SOF0/1/2 (Huffman, 8-bit: what browsers show),
 * DRI, SOS with its entropy-coded data, EOI, and a fixed JFIF APP0 when the
 * original had one (libjpeg reads a 3-component image as YCbCr when a JFIF
 * marker is present, else by its component ids; ITU-T T.871, clause 6); PNG IHDR,
 * PLTE, tRNS, IDAT, IEND (colour chunks are dropped: libvips ignores gAMA,
 * cHRM and cICP, so the variants do too, and sRGB is the default); WebP a
 * VP8 or VP8L chunk, with a rebuilt VP8X and its ALPH chunk when extended.
 */
import type { SourceFormat } from './sniff.ts';

/** The original's image data in a container rebuilt from an allow-list, or undefined. */
export function webCopy(data: Buffer, format: SourceFormat): Buffer | undefined {
  switch (format) {
    case 'jpeg':
      return jpegCopy(data);
    case 'png':
      return pngCopy(data);
    case 'webp':
      return webpCopy(data);
    default:
      // AVIF/HEIC (ISO-BMFF boxes), GIF and TIFF are never served as they are.
      return undefined;
  }
}

/** ITU-T T.81 Table B.1 markers this copy keeps: DQT, DHT, SOF0–2, DRI, SOS. */
const JPEG_KEPT = new Set([0xdb, 0xc4, 0xc0, 0xc1, 0xc2, 0xdd, 0xda]);
/** A JFIF 1.01 APP0 with no density and no thumbnail (ITU-T T.871, clause 10.1). */
const JFIF_APP0 = Buffer.from([
  0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01,
  0x00, 0x00,
]);

function jpegCopy(data: Buffer): Buffer | undefined {
  if (data[0] !== 0xff || data[1] !== 0xd8) return undefined;
  const kept: Buffer[] = [];
  let jfif = false;
  let frames = 0;
  let at = 2;
  while (at < data.length) {
    if (data[at] !== 0xff) return undefined;
    while (data[at] === 0xff) at += 1; // fill bytes (T.81 B.1.1.2)
    const marker = data[at];
    at += 1;
    if (marker === undefined) return undefined;
    if (marker === 0xd9) {
      // EOI: nothing after it is copied.
      if (frames !== 1) return undefined;
      const head = jfif ? [Buffer.from([0xff, 0xd8]), JFIF_APP0] : [Buffer.from([0xff, 0xd8])];
      return Buffer.concat([...head, ...kept, Buffer.from([0xff, 0xd9])]);
    }
    if (at + 2 > data.length) return undefined;
    const end = at + data.readUInt16BE(at);
    if (end > data.length || end < at + 2) return undefined;
    const segment = data.subarray(at - 2, end);
    at = end;
    if (marker === 0xee) return undefined; // Adobe APP14: its transform flag decides the colours
    if (marker === 0xe0 && segment.subarray(4, 9).equals(Buffer.from('JFIF\0'))) jfif = true;
    if ((marker >= 0xe0 && marker <= 0xef) || marker === 0xfe) continue; // APPn, COM: dropped
    if (!JPEG_KEPT.has(marker)) return undefined; // SOF3/5–15, DAC, DNL, RSTn, JPGn…: re-encode
    if (marker >= 0xc0 && marker <= 0xc2) frames += 1;
    kept.push(segment);
    if (marker === 0xda) {
      const scanEnd = entropyEnd(data, at);
      kept.push(data.subarray(at, scanEnd));
      at = scanEnd;
    }
  }
  return undefined; // no EOI
}

/** Where a scan's entropy-coded data ends: the first 0xFF that is not stuffing (FF00) or RSTn. */
function entropyEnd(data: Buffer, from: number): number {
  let at = from;
  for (;;) {
    at = data.indexOf(0xff, at);
    if (at < 0) return data.length;
    const next = data[at + 1];
    if (next === 0x00 || (next !== undefined && next >= 0xd0 && next <= 0xd7)) at += 2;
    else return at;
  }
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const PNG_KEPT = new Set(['IHDR', 'PLTE', 'tRNS', 'IDAT', 'IEND']);

function pngCopy(data: Buffer): Buffer | undefined {
  if (!data.subarray(0, 8).equals(PNG_SIGNATURE)) return undefined;
  const kept: Buffer[] = [PNG_SIGNATURE];
  let at = 8;
  while (at + 12 <= data.length) {
    const length = data.readUInt32BE(at);
    const type = data.toString('latin1', at + 4, at + 8);
    const end = at + 12 + length;
    if (end > data.length) return undefined;
    if (kept.length === 1 && type !== 'IHDR') return undefined;
    // An unknown critical chunk (upper-case first letter) changes the image: re-encode.
    const critical = (data[at + 4] ?? 0) < 0x61;
    if (PNG_KEPT.has(type)) kept.push(data.subarray(at, end));
    else if (critical) return undefined;
    at = end;
    // IEND: nothing after it is copied.
    if (type === 'IEND') return Buffer.concat(kept);
  }
  return undefined; // no IEND
}

function webpCopy(data: Buffer): Buffer | undefined {
  if (data.toString('latin1', 0, 4) !== 'RIFF' || data.toString('latin1', 8, 12) !== 'WEBP') {
    return undefined;
  }
  // Bytes after the RIFF size are not part of the file.
  const riffEnd = 8 + data.readUInt32LE(4);
  if (riffEnd > data.length) return undefined;
  const chunks = new Map<string, Buffer>();
  for (let at = 12; at + 8 <= riffEnd; ) {
    const type = data.toString('latin1', at, at + 4);
    const size = data.readUInt32LE(at + 4);
    const end = at + 8 + size;
    if (end > riffEnd) return undefined;
    if (!chunks.has(type)) chunks.set(type, data.subarray(at + 8, end));
    at = end + (size % 2);
  }
  const image = chunks.get('VP8 ') ?? chunks.get('VP8L');
  const imageType = chunks.has('VP8 ') ? 'VP8 ' : 'VP8L';
  if (image === undefined || chunks.has('ANIM') || chunks.has('ANMF')) return undefined;
  const vp8x = chunks.get('VP8X');
  const parts: Buffer[] = [];
  if (vp8x) {
    if (vp8x.length !== 10) return undefined;
    const alpha = chunks.get('ALPH');
    const header = Buffer.alloc(10);
    // RFC 9649 §2.7: flags (alpha only, bit 4), reserved zero, canvas size minus one as is.
    header[0] = alpha !== undefined || ((vp8x[0] ?? 0) & 0x10) !== 0 ? 0x10 : 0;
    vp8x.copy(header, 4, 4, 10);
    parts.push(riffChunk('VP8X', header));
    if (alpha && imageType === 'VP8 ') parts.push(riffChunk('ALPH', alpha));
  }
  parts.push(riffChunk(imageType, image));
  const body = Buffer.concat([Buffer.from('WEBP'), ...parts]);
  const riff = Buffer.alloc(8);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE(body.length, 4);
  return Buffer.concat([riff, body]);
}

/** One RIFF chunk: FourCC, little-endian size, payload, a zero pad byte to an even size. */
function riffChunk(type: string, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.write(type, 0, 'latin1');
  header.writeUInt32LE(payload.length, 4);
  const pad = payload.length % 2 === 1 ? [Buffer.alloc(1)] : [];
  return Buffer.concat([header, payload, ...pad]);
}
