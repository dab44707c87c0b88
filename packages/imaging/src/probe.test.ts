import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '@slideshow/runtime';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe } from './probe.ts';
import { probeHeader } from './probe-header.ts';
import { animatedGif, declaredPng, orientedJpeg, photoJpeg, solid } from './test-fixtures.ts';

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  const appError = error as AppError;
  expect(appError.retryable).toBe(false);
  return appError;
}

let dir: string;
let photo: Buffer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'imaging-probe-'));
  photo = await photoJpeg(400, 300);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('probe', () => {
  it('reads format, dimensions after orientation, frames and alpha from a JPEG file path', async () => {
    const path = join(dir, 'oriented.jpg');
    writeFileSync(path, await orientedJpeg(6));
    const result = await probe(path);
    expect(result).toMatchObject({
      format: 'jpeg',
      mime: 'image/jpeg',
      width: 60,
      height: 40,
      frames: 1,
      hasAlpha: false,
      orientation: 6,
    });
  });

  it('refuses an empty file with EMPTY_FILE', async () => {
    const error = await refusal(probe(Buffer.alloc(0)));
    expect(error.code).toBe('EMPTY_FILE');
    expect(error.message).toBe('Expected an image but received an empty file (0 bytes)');
  });

  it('refuses a text file named .jpg with UNSUPPORTED_FORMAT, whatever its name', async () => {
    const path = join(dir, 'holiday.jpg');
    writeFileSync(path, 'this is not an image\n');
    const error = await refusal(probe(path));
    expect(error.code).toBe('UNSUPPORTED_FORMAT');
    expect(error.message).toBe(
      'Expected a JPEG, PNG, WebP, GIF, AVIF, TIFF or HEIC image but received a text file',
    );
  });

  it('refuses SVG with SVG_NOT_ALLOWED and never renders it', async () => {
    const svg = Buffer.from(
      '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><image href="http://127.0.0.1:9/x.png"/></svg>',
    );
    const error = await refusal(probe(svg));
    expect(error.code).toBe('SVG_NOT_ALLOWED');
  });

  it('refuses a PNG that declares 10 gigapixels before decoding it', async () => {
    const error = await refusal(probe(declaredPng(100_000, 100_000)));
    expect(error.code).toBe('TOO_MANY_PIXELS');
    expect(error.message).toBe(
      'Expected at most 100000000 pixels but the header declares 100000x100000 (10000000000 pixels)',
    );
  });

  it('refuses a file larger than maxBytes with FILE_TOO_LARGE', async () => {
    const error = await refusal(probe(photo, { maxBytes: 1000 }));
    expect(error.code).toBe('FILE_TOO_LARGE');
  });

  it('refuses a side longer than maxDimension with DIMENSIONS_TOO_LARGE', async () => {
    const error = await refusal(probe(declaredPng(40_000, 10)));
    expect(error.code).toBe('DIMENSIONS_TOO_LARGE');
  });

  it('refuses an animation with more frames than maxFrames with TOO_MANY_FRAMES', async () => {
    const error = await refusal(probe(await animatedGif(5), { maxFrames: 3 }));
    expect(error.code).toBe('TOO_MANY_FRAMES');
    expect(error.message).toBe('Expected at most 3 frames but received 5');
  });

  it('refuses a JPEG whose header is cut off with CORRUPT_IMAGE', async () => {
    const error = await refusal(probe(photo.subarray(0, 120)));
    expect(error.code).toBe('CORRUPT_IMAGE');
  });

  it('checks its limits eagerly and names a bad one', async () => {
    await expect(probe(photo, { maxPixels: -1 })).rejects.toThrow(
      'Expected a positive integer for limits.maxPixels but received -1 of type number',
    );
  });
});

describe('probeHeader', () => {
  it('learns format and oriented dimensions from the first kilobyte of a JPEG', async () => {
    const jpeg = await orientedJpeg(8);
    const result = await probeHeader(jpeg.subarray(0, 1024), jpeg.length);
    expect(result).toMatchObject({
      format: 'jpeg',
      width: 60,
      height: 40,
      orientation: 8,
      bytes: jpeg.length,
    });
  });

  it('refuses a gigapixel PNG from its first 64 bytes', async () => {
    const error = await refusal(probeHeader(declaredPng(70_000, 70_000).subarray(0, 64), 10_000));
    expect(error.code).toBe('TOO_MANY_PIXELS');
  });

  it('refuses an upload whose announced size exceeds maxBytes before reading it', async () => {
    const error = await refusal(probeHeader(photo.subarray(0, 256), 300 * 1024 * 1024));
    expect(error.code).toBe('FILE_TOO_LARGE');
  });

  it('counts GIF frames in a prefix and refuses once the count passes maxFrames', async () => {
    const gif = await animatedGif(6);
    const error = await refusal(probeHeader(gif, gif.length, { maxFrames: 4 }));
    expect(error.code).toBe('TOO_MANY_FRAMES');
  });

  it('reads WebP dimensions from lossy, lossless and animated headers', async () => {
    const base = solid(37, 23, { r: 10, g: 200, b: 30, alpha: 0.5 }, 4);
    const lossy = await base.clone().removeAlpha().webp().toBuffer();
    const lossless = await base.clone().webp({ lossless: true }).toBuffer();
    const firstFrame = await sharp(await animatedGif(3, 41, 29))
      .webp()
      .toBuffer();
    expect(await probeHeader(lossy.subarray(0, 64), lossy.length)).toMatchObject({
      width: 37,
      height: 23,
    });
    expect(await probeHeader(lossless.subarray(0, 64), lossless.length)).toMatchObject({
      width: 37,
      height: 23,
      hasAlpha: true,
    });
    const animated = await sharp(await animatedGif(3, 41, 29), { animated: true })
      .webp()
      .toBuffer();
    expect(await probeHeader(animated, animated.length)).toMatchObject({
      width: 41,
      height: 29,
      frames: 3,
    });
    expect((await probeHeader(firstFrame.subarray(0, 64), firstFrame.length)).width).toBe(41);
  });

  it('leaves dimensions undefined when the prefix ends before the header', async () => {
    const result = await probeHeader(photo.subarray(0, 3), photo.length);
    expect(result.format).toBe('jpeg');
    expect(result.width).toBeUndefined();
  });

  it('refuses SVG and text from a prefix just as probe does', async () => {
    expect((await refusal(probeHeader(Buffer.from('<svg/>'), 6))).code).toBe('SVG_NOT_ALLOWED');
    expect((await refusal(probeHeader(Buffer.alloc(0), 0))).code).toBe('EMPTY_FILE');
  });
});
