/**
 * A HEIC as sharp input, in its own colour space. libheif-js returns RGBA in
 * the file's colour space (it converts YCbCr to RGB, not between gamuts), and
 * sharp reads raw pixels as sRGB: it cannot attach a profile without
 * converting into it. So a HEIC with an ICC profile, or with nclx Display P3
 * primaries (an iPhone photo), becomes an uncompressed PNG that carries the
 * profile, and sharp converts it like any tagged input.
 */
import { crc32, deflateSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import { decodeHeic, type HeicColour } from './heic.ts';
import type { RawImage } from './placeholder.ts';

/** ITU-T H.273 colour_primaries 12: SMPTE EG 432-1, i.e. Display P3 (D65). */
const NCLX_DISPLAY_P3 = 12;

let displayP3: Promise<Buffer> | undefined;

/** libvips' built-in Display P3 profile (the one `withIccProfile('p3')` attaches). */
function builtInDisplayP3(): Promise<Buffer> {
  displayP3 ??= sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } })
    .withIccProfile('p3')
    .png()
    .toBuffer()
    .then(async (png) => {
      const { icc } = await sharp(png).metadata();
      if (!icc) throw new Error('Expected libvips to attach its built-in p3 profile');
      return icc;
    });
  return displayP3;
}

/**
 * The ICC profile the pixels are in: the file's own, else Display P3 for nclx
 * primaries 12; undefined (sRGB, as sharp reads untagged pixels) for
 * BT.709/unspecified and for primaries sharp has no profile for. The nclx
 * transfer is not looked at: PQ and HLG are read as sRGB (README "HEIC").
 */
async function heicProfile(colour: HeicColour): Promise<Buffer | undefined> {
  if (colour.icc) return colour.icc;
  if (colour.nclx?.primaries === NCLX_DISPLAY_P3) return builtInDisplayP3();
  return undefined;
}

/**
 * The pixels as an uncompressed PNG that carries `icc` (an iCCP chunk,
 * ISO/IEC 15948 §11.3.3.3), without converting them: sharp can only attach a
 * profile by converting into it. IHDR always comes first and is 13 bytes long (33 bytes
 * with the signature), and libvips writes no colour chunk for untagged
 * pixels, so iCCP goes right after IHDR, before the IDAT it must precede.
 */
async function taggedPng(raw: RawImage, icc: Buffer): Promise<Buffer> {
  const { data, width, height, channels } = raw;
  const png = await sharp(data, { raw: { width, height, channels } })
    .png({ compressionLevel: 0 })
    .toBuffer();
  // Chunk type, then profile name "icc", its NUL, compression method 0 (zlib) and the profile.
  const typed = Buffer.concat([Buffer.from('iCCPicc\0\0', 'latin1'), deflateSync(icc)]);
  const iccp = Buffer.alloc(4 + typed.length + 4); // length, type and data, CRC-32 of both
  iccp.writeUInt32BE(typed.length - 4, 0);
  typed.copy(iccp, 4);
  iccp.writeUInt32BE(crc32(typed), 4 + typed.length);
  return Buffer.concat([png.subarray(0, 33), iccp, png.subarray(33)]);
}

/** A decoded HEIC ready for the decode pipeline. */
export interface HeicInput {
  pipeline: Sharp;
  /** The profile the pixels carry; undefined for sRGB. */
  icc?: Buffer;
  /** True when the pixels are already no wider than `maxWidth`. */
  resized: boolean;
}

/**
 * Decodes a HEIC (decodeHeic: CORRUPT_IMAGE, TOO_MANY_PIXELS) into a sharp
 * input. Untagged and sRGB pixels stay raw, exactly as before. Tagged ones
 * are resized to `maxWidth` first, in their own encoding (Display P3 has the
 * sRGB curve), so the PNG and the colour transform handle only the pixels the
 * variants need (README "HEIC" has the timings).
 */
export async function heicInput(
  bytes: Uint8Array,
  maxPixels: number,
  maxWidth: number,
): Promise<HeicInput> {
  const decoded = await decodeHeic(bytes, maxPixels);
  const raw = sharp(decoded.data, { raw: decoded });
  const icc = await heicProfile(decoded.colour);
  if (!icc) return { pipeline: raw, resized: false };
  let pixels: RawImage = decoded;
  if (decoded.width > maxWidth) {
    const { data, info } = await raw
      .resize({ width: maxWidth, kernel: 'lanczos3' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    pixels = { data, width: info.width, height: info.height, channels: decoded.channels };
  }
  return { pipeline: sharp(await taggedPng(pixels, icc)), icc, resized: true };
}
