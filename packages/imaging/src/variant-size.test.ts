import { AppError } from '@slideshow/runtime';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { fromSharpError } from './errors.ts';
import { processImage, targetWidths } from './process.ts';
import { animatedGif } from './test-fixtures.ts';
import { MAX_VARIANT_SIDE } from './variant-size.ts';

const widths = [320, 640, 1280, 1920, 2560];

/** Processes `input` with web-v1, checking each written file's real size against its record. */
async function processTall(input: Buffer) {
  const written = new Map<string, Buffer>();
  const result = await processImage(input, {
    preset: 'web-v1',
    write: async (v) => {
      written.set(v.suffix, v.data);
    },
  });
  for (const v of result.variants) {
    const meta = await sharp(written.get(v.suffix) as Buffer).metadata();
    expect({ width: meta.width, height: meta.pageHeight ?? meta.height }, v.suffix).toEqual({
      width: v.width,
      height: v.height,
    });
    expect(v.height, v.suffix).toBeLessThanOrEqual(MAX_VARIANT_SIDE);
  }
  return result;
}

/** A `width` × `height` PNG, white above and red below the middle. */
async function tallPng(width: number, height: number): Promise<Buffer> {
  const half = Math.floor(height / 2);
  const red = {
    create: { width, height: height - half, channels: 3 as const, background: '#f00' },
  };
  return sharp({ create: { width, height, channels: 3, background: '#fff' } })
    .composite([{ input: red, left: 0, top: half }])
    .png()
    .toBuffer();
}

describe('variants of images taller than the encoders allow', () => {
  it('narrows the widths of a tall source until every variant is at most 16383 px high', () => {
    expect(targetWidths(widths, 1080, 17000)).toEqual([320, 640, 1040]);
    expect(targetWidths(widths, 700, 29000)).toEqual([320, 395]);
    expect(targetWidths(widths, 1, 20000)).toEqual([1]);
    // Within the limit nothing changes.
    expect(targetWidths(widths, 1080, 16383)).toEqual([320, 640, 1080]);
  });

  it('makes every variant of a 90 × 17000 PNG, keeping its aspect ratio and recording true sizes', async () => {
    const result = await processTall(await tallPng(90, 17000));
    expect(result).toMatchObject({ width: 90, height: 17000 });
    expect(result.variants.map((v) => v.suffix).sort()).toEqual([
      'w86.avif',
      'w86.jpg',
      'w86.webp',
    ]);
    for (const v of result.variants) {
      expect(Math.abs(v.height - (v.width * 17000) / 90), v.suffix).toBeLessThanOrEqual(1);
    }
  });

  it('makes a 1 × 20000 PNG into 1 × 16383 variants', async () => {
    const result = await processTall(await tallPng(1, 20000));
    expect(result.variants.map((v) => [v.suffix, v.width, v.height])).toContainEqual([
      'w1.avif',
      1,
      MAX_VARIANT_SIDE,
    ]);
  });

  it('makes an animation whose frames are taller than WebP allows into a narrower animated WebP', async () => {
    const result = await processTall(await animatedGif(3, 20, 17000));
    const animated = result.variants.filter((v) => v.animated);
    expect(animated.map((v) => [v.suffix, v.width])).toEqual([['w19.webp', 19]]);
  });
});

describe("an encoder's refusal", () => {
  it('is never CORRUPT_IMAGE: the image is not to blame', () => {
    const error = fromSharpError(new Error('Processed image is too large for the WebP format'), {
      stage: 'encode',
    });
    expect(error).toBeInstanceOf(AppError);
    expect(error.code).not.toBe('CORRUPT_IMAGE');
    expect(error.code).toBe('INTERNAL');
  });
});
