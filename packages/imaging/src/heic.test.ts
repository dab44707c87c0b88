/**
 * HEIC through the real decoder (libheif-js) on files the default suite makes
 * itself: tools/heic-writer.ts writes HEVC bitstreams (PCM-coded, so the
 * decoded pixels are the written ones up to 4:2:0 chroma subsampling).
 */

import { AppError } from '@slideshow/runtime';
import { writeHeic } from '@slideshow/tools/heic-writer';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeHeic } from './heic.ts';
import { probe } from './probe.ts';
import { processImage } from './process.ts';

/** Smooth gradients: red across, green down, blue constant. */
function gradient(width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = Math.round((255 * x) / (width - 1));
      data[i + 1] = Math.round((255 * y) / (height - 1));
      data[i + 2] = 90;
    }
  }
  return data;
}

describe('HEIC written by tools/heic-writer', () => {
  it('is recognised as HEVC-coded HEIC by sharp and probe', async () => {
    const heic = writeHeic({ data: gradient(96, 64), width: 96, height: 64, channels: 3 });
    const metadata = await sharp(heic).metadata();
    expect(metadata).toMatchObject({ format: 'heif', compression: 'hevc', width: 96, height: 64 });
    expect(await probe(heic)).toMatchObject({ format: 'heic', width: 96, height: 64 });
  });

  it('decodes to the pixels it was written from, also when the size is not a multiple of 16', async () => {
    for (const [width, height] of [
      [64, 48],
      [90, 34],
    ] as const) {
      const source = gradient(width, height);
      const decoded = await decodeHeic(
        writeHeic({ data: source, width, height, channels: 3 }),
        10_000_000,
      );
      expect(decoded).toMatchObject({ width, height, channels: 4, hasAlpha: false });
      let worst = 0;
      for (let p = 0; p < width * height; p++) {
        for (let c = 0; c < 3; c++) {
          const diff = Math.abs((decoded.data[p * 4 + c] ?? 0) - (source[p * 3 + c] ?? 0));
          worst = Math.max(worst, diff);
        }
      }
      // Smooth chroma survives 4:2:0 subsampling and 8-bit YCbCr rounding within a few levels.
      expect(worst, `${width}x${height}`).toBeLessThanOrEqual(6);
    }
  });

  it('refuses a HEIC above the pixel limit before decoding its pixels', async () => {
    const heic = writeHeic({ data: gradient(64, 48), width: 64, height: 48, channels: 3 });
    const error = await decodeHeic(heic, 1000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'TOO_MANY_PIXELS', retryable: false });
  });

  it('becomes the same variants as any other still image', async () => {
    const heic = writeHeic({ data: gradient(800, 600), width: 800, height: 600, channels: 3 });
    const written: string[] = [];
    const result = await processImage(heic, {
      preset: 'web-v1',
      write: async (v) => {
        written.push(v.suffix);
      },
    });
    expect(result).toMatchObject({ format: 'heic', width: 800, height: 600, hasAlpha: false });
    expect(written.sort()).toEqual(result.variants.map((v) => v.suffix).sort());
    expect(result.variants.some((v) => v.format === 'avif' && v.width === 800)).toBe(true);
  });
});
