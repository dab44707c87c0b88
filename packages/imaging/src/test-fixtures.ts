/**
 * Test fixtures generated with sharp (the default suite never reads
 * ../shared), plus perceptual comparison helpers. Images are small so the
 * whole suite stays fast on 2 cores.
 */
import { crc32 } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';

/** Displayed size of the orientation fixtures. */
export const ORIENTED = { width: 60, height: 40, marker: 12 } as const;

/**
 * Maps a stored pixel to where it is displayed under EXIF orientation `o`
 * (TIFF 6.0 / EXIF 2.3 tag 0x0112). `w`×`h` are the stored dimensions.
 */
function displayed(o: number, x: number, y: number, w: number, h: number): [number, number] {
  switch (o) {
    case 2:
      return [w - 1 - x, y];
    case 3:
      return [w - 1 - x, h - 1 - y];
    case 4:
      return [x, h - 1 - y];
    case 5:
      return [y, x];
    case 6:
      return [h - 1 - y, x];
    case 7:
      return [h - 1 - y, w - 1 - x];
    case 8:
      return [y, w - 1 - x];
    default:
      return [x, y];
  }
}

/**
 * A JPEG with EXIF orientation `o` whose correctly oriented picture is
 * ORIENTED.width × height, white, with a red square in its top-left corner
 * and a blue one in its bottom-right corner.
 */
export async function orientedJpeg(o: number): Promise<Buffer> {
  const { width, height, marker } = ORIENTED;
  const [sw, sh] = o >= 5 ? [height, width] : [width, height];
  const data = Buffer.alloc(sw * sh * 3, 255);
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < sw; x++) {
      const [dx, dy] = displayed(o, x, y, sw, sh);
      const i = (y * sw + x) * 3;
      if (dx < marker && dy < marker) data.set([255, 0, 0], i);
      if (dx >= width - marker && dy >= height - marker) data.set([0, 0, 255], i);
    }
  }
  return sharp(data, { raw: { width: sw, height: sh, channels: 3 } })
    .withMetadata({ orientation: o })
    .jpeg({ quality: 95, chromaSubsampling: '4:4:4' })
    .toBuffer();
}

/** A photo-like image: gradient plus noise, as a JPEG. */
export async function photoJpeg(width: number, height: number, quality = 90): Promise<Buffer> {
  const noise = await sharp({
    create: {
      width,
      height,
      channels: 3,
      background: '#808080',
      noise: { type: 'gaussian', mean: 128, sigma: 20 },
    },
  })
    .raw()
    .toBuffer();
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const n = ((noise[i] ?? 128) - 128) / 4;
      data[i] = clamp((x / width) * 200 + 40 + n);
      data[i + 1] = clamp((y / height) * 160 + 60 + n);
      data[i + 2] = clamp(180 - (x / width) * 120 + n);
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } })
    .jpeg({ quality })
    .toBuffer();
}

function clamp(v: number): number {
  return Math.max(0, Math.min(255, Math.round(v)));
}

/** A solid-colour image in the given format. */
export function solid(
  width: number,
  height: number,
  colour: string | { r: number; g: number; b: number; alpha?: number },
  channels: 3 | 4 = 3,
): Sharp {
  return sharp({ create: { width, height, channels, background: colour } });
}

/** An RGBA PNG: opaque red left half, half-transparent green right half. */
export async function alphaPng(width = 64, height = 48): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      data.set(x < width / 2 ? [255, 0, 0, 255] : [0, 200, 0, 128], (y * width + x) * 4);
    }
  }
  return sharp(data, { raw: { width, height, channels: 4 } })
    .png()
    .toBuffer();
}

/** An animated GIF of `frames` frames, each a different solid colour. */
export async function animatedGif(frames: number, width = 48, height = 32): Promise<Buffer> {
  const pages = await Promise.all(
    Array.from({ length: frames }, (_, i) =>
      solid(width, height, { r: (i * 60) % 256, g: 80, b: 255 - ((i * 60) % 256) })
        .png()
        .toBuffer(),
    ),
  );
  return sharp(pages, { join: { animated: true } })
    .gif({ delay: Array(frames).fill(100), loop: 0 })
    .toBuffer();
}

/** A PNG chunk: length, type, data and its CRC (ISO/IEC 15948, chunk layout). */
export function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * A tiny PNG whose IHDR (with a valid CRC) declares `width` × `height`
 * pixels: a decompression bomb that must be refused before decoding.
 */
export function declaredPng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter, no interlace
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  // A few bytes of (invalid) image data: nothing may ever try to inflate them.
  return Buffer.concat([
    signature,
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.from([0x78, 0x9c, 0x63, 0x00, 0x00])),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The IHDR data and the concatenated IDAT data of a PNG sharp wrote. */
function pngParts(png: Buffer): { ihdr: Buffer; idat: Buffer } {
  let ihdr: Buffer = Buffer.alloc(0);
  const idat: Buffer[] = [];
  for (let offset = 8; offset + 8 <= png.length; offset += 12 + png.readUInt32BE(offset)) {
    const data = png.subarray(offset + 8, offset + 8 + png.readUInt32BE(offset));
    const type = png.toString('latin1', offset + 4, offset + 8);
    if (type === 'IHDR') ihdr = data;
    if (type === 'IDAT') idat.push(data);
  }
  return { ihdr, idat: Buffer.concat(idat) };
}

/** Big-endian 32-bit words. */
function words(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => {
    b.writeUInt32BE(v, 4 * i);
  });
  return b;
}

/**
 * An APNG (https://wiki.mozilla.org/APNG_Specification) of solid `frames` colours, 48 × 32,
 * 100 ms each, looping. With `defaultImage` its IDAT holds that colour as an image of its own,
 * outside the animation (no fcTL before it); without, the IDAT is the first frame. With
 * `controlAfterIdat` the acTL comes after the IDAT, which makes it a plain PNG to an APNG decoder.
 */
export async function apng(
  frames: string[],
  options: { defaultImage?: string; controlAfterIdat?: boolean } = {},
): Promise<Buffer> {
  const [width, height] = [48, 32];
  const encode = async (colour: string) =>
    pngParts(await solid(width, height, colour).png().toBuffer());
  const images = await Promise.all(frames.map(encode));
  const still = options.defaultImage ? await encode(options.defaultImage) : images[0];
  if (!still) throw new Error('an APNG needs a frame');
  let sequence = 0;
  const frameControl = (): Buffer =>
    chunk(
      'fcTL',
      Buffer.concat([words(sequence++, width, height, 0, 0), Buffer.from([0, 100, 3, 232, 0, 0])]),
    );
  const control = chunk('acTL', words(frames.length, 0));
  const parts = [chunk('IHDR', still.ihdr)];
  if (!options.controlAfterIdat) parts.push(control);
  if (!options.defaultImage) parts.push(frameControl());
  parts.push(chunk('IDAT', still.idat));
  if (options.controlAfterIdat) parts.push(control);
  for (const image of options.defaultImage ? images : images.slice(1)) {
    parts.push(frameControl());
    parts.push(chunk('fdAT', Buffer.concat([words(sequence++), image.idat])));
  }
  parts.push(chunk('IEND', Buffer.alloc(0)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ...parts]);
}

/** Decodes any image to raw RGB at a fixed small size for perceptual comparison. */
export async function thumbnail(input: Buffer, width = 16, height = 16): Promise<Buffer> {
  return sharp(input)
    .resize(width, height, { fit: 'fill' })
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer();
}

/** Mean absolute difference (0–255) between two equal-length pixel buffers. */
export function meanAbsoluteDifference(a: Buffer, b: Buffer): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] ?? 0) - (b[i] ?? 0));
  return sum / a.length;
}

/** The RGB value at (x, y) of an image, after decoding. */
export async function pixelAt(
  input: Buffer,
  x: number,
  y: number,
): Promise<[number, number, number]> {
  const { data, info } = await sharp(input)
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const i = (y * info.width + x) * info.channels;
  return [data[i] ?? 0, data[i + 1] ?? 0, data[i + 2] ?? 0];
}
