/**
 * The bench's input photos: the 12 MP benchmark photo of ../shared (or a
 * generated stand-in of its size) and a generated 50 MP one, photo-like so they
 * compress like camera files.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededGrain } from '@slideshow/tools/seeded-grain';
import { findSharedDir } from '@slideshow/tools/shared-dir';
import sharp from 'sharp';

/** The 12 MP benchmark photo of ../shared when present, else a generated one of the same size. */
export async function twelveMegapixelJpeg(): Promise<Buffer> {
  const shared = findSharedDir();
  const file = shared && join(shared, 'corpus/generated/photo-12mp-4000x3000.jpg');
  if (file && existsSync(file)) return readFileSync(file);
  return photoLikeJpeg(4000, 3000);
}

/** A 50 MP photo-like JPEG. */
export function fiftyMegapixelJpeg(): Promise<Buffer> {
  return photoLikeJpeg(8660, 5774);
}

/** A photo-like JPEG: smooth gradients plus grain, so it compresses like a camera file. */
async function photoLikeJpeg(width: number, height: number): Promise<Buffer> {
  const gradient = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
      <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">
        <stop offset="0" stop-color="#204080"/><stop offset="0.5" stop-color="#e0a040"/>
        <stop offset="1" stop-color="#30a060"/></linearGradient></defs>
      <rect width="100%" height="100%" fill="url(#g)"/>
      <circle cx="${width / 3}" cy="${height / 2}" r="${height / 4}" fill="#f0f0e0" fill-opacity="0.6"/>
    </svg>`,
  );
  const grain = seededGrain(width, height, 12);
  return sharp(gradient, { limitInputPixels: false })
    .composite([{ input: grain, raw: { width, height, channels: 3 }, blend: 'overlay' }])
    .jpeg({ quality: 88 })
    .toBuffer();
}
