/**
 * Sample images the project makes itself (nothing copied from elsewhere):
 * photo-like gradients with noise, one with EXIF orientation 6, one with an
 * alpha channel, an animated GIF, and — on request — a HEIC or a corrupt file.
 */
import sharp from 'sharp';
import { writeHeic } from './heic-writer.ts';

/** One generated sample. */
export interface SampleImage {
  name: string;
  bytes: Buffer;
}

function gradient(width: number, height: number, hue: number): Buffer {
  const data = Buffer.alloc(width * height * 3);
  let seed = hue * 7919 + 1;
  const noise = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return (seed % 17) - 8;
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const t = x / width;
      const u = y / height;
      data[i] = Math.max(0, Math.min(255, 255 * Math.abs(Math.sin(hue + t * 3)) + noise()));
      data[i + 1] = Math.max(0, Math.min(255, 255 * u * (1 - t * 0.5) + noise()));
      data[i + 2] = Math.max(
        0,
        Math.min(255, 255 * (1 - u) * Math.abs(Math.cos(hue + u * 2)) + noise()),
      );
    }
  }
  return data;
}

/** Makes `count` distinct photo-like JPEGs/PNGs plus an animated GIF (count ≥ 1). */
export async function makeSampleImages(count = 5): Promise<SampleImage[]> {
  const out: SampleImage[] = [];
  for (let i = 0; i < count; i++) {
    const width = 1600 + i * 160;
    const height = 1000 + i * 90;
    const raw = sharp(gradient(width, height, i + 1), { raw: { width, height, channels: 3 } });
    if (i % 4 === 1) {
      // Portrait taken "sideways": the camera wrote orientation 6 instead of rotating pixels.
      out.push({
        name: `sample-${i + 1}-rotated.jpg`,
        bytes: await raw.jpeg({ quality: 88 }).withMetadata({ orientation: 6 }).toBuffer(),
      });
    } else if (i % 4 === 2) {
      const alpha = await raw.ensureAlpha(0.8).png().toBuffer();
      out.push({ name: `sample-${i + 1}-alpha.png`, bytes: alpha });
    } else if (i % 4 === 3) {
      out.push({ name: `sample-${i + 1}.webp`, bytes: await raw.webp({ quality: 85 }).toBuffer() });
    } else {
      out.push({ name: `sample-${i + 1}.jpg`, bytes: await raw.jpeg({ quality: 88 }).toBuffer() });
    }
  }
  const frames = 6;
  const size = 160;
  const strip = Buffer.concat(
    Array.from({ length: frames }, (_, f) => gradient(size, size, f * 0.5 + 9)),
  );
  out.push({
    name: 'sample-animated.gif',
    bytes: await sharp(strip, {
      raw: { width: size, height: size * frames, channels: 3, pageHeight: size },
    })
      .gif({ delay: Array(frames).fill(120), loop: 0 })
      .toBuffer(),
  });
  return out;
}

/** A JPEG cut off in the middle of its scan data: its header reads, its pixels do not. */
export async function makeTruncatedJpeg(): Promise<SampleImage> {
  const full = await sharp(gradient(800, 600, 42), {
    raw: { width: 800, height: 600, channels: 3 },
  })
    .jpeg({ quality: 90 })
    .toBuffer();
  return { name: 'truncated.jpg', bytes: full.subarray(0, Math.floor(full.length / 2)) };
}

/** A photo-like HEIC (HEVC-coded by tools/heic-writer.ts), 1200×800. */
export function makeSampleHeic(): SampleImage {
  const width = 1200;
  const height = 800;
  return {
    name: 'sample-heic.heic',
    bytes: writeHeic({ data: gradient(width, height, 5.5), width, height, channels: 3 }),
  };
}
