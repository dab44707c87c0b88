/**
 * The real-world corpus in ../shared/corpus (see its MANIFEST.md): every file
 * gets its expected outcome. Most files run the cheap preview-v1 preset; a
 * few representative ones run the full web-v1 preset.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type ImageErrorCode, type ImageResult, isImageErrorCode } from '@slideshow/contracts';
import { AppError, coerceError } from '@slideshow/runtime';
import { findSharedDir } from '@slideshow/tools/shared-dir';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { VariantOutput } from './encode.ts';
import { processImage } from './process.ts';
import { meanAbsoluteDifference, pixelAt, thumbnail } from './test-fixtures.ts';

const shared = findSharedDir();
const corpus = shared ? join(shared, 'corpus') : '';

interface Processed {
  result: ImageResult;
  files: Map<string, VariantOutput>;
}

type Expectation =
  | { refuse: ImageErrorCode }
  | {
      width: number;
      height: number;
      frames?: number;
      alpha?: boolean;
      full?: boolean;
      /** Must look like orientation/Landscape_1.jpg once processed. */
      likeLandscape?: boolean;
    };

const LANDSCAPE = { width: 1800, height: 1200, likeLandscape: true } as const;

const EXPECTED: Record<string, Expectation> = {
  'orientation/Landscape_0.jpg': LANDSCAPE,
  'orientation/Landscape_1.jpg': { ...LANDSCAPE, full: true },
  'orientation/Landscape_2.jpg': LANDSCAPE,
  'orientation/Landscape_3.jpg': LANDSCAPE,
  'orientation/Landscape_4.jpg': LANDSCAPE,
  'orientation/Landscape_5.jpg': LANDSCAPE,
  'orientation/Landscape_6.jpg': LANDSCAPE,
  'orientation/Landscape_7.jpg': LANDSCAPE,
  'orientation/Landscape_8.jpg': LANDSCAPE,
  'sharp/4.webp': { width: 1024, height: 772 },
  'sharp/5_webp_a.webp': { width: 300, height: 300, alpha: true, full: true },
  'sharp/65536-uint32-limit.png': { refuse: 'TOO_MANY_PIXELS' },
  'sharp/Channel_digital_image_CMYK_color.jpg': { width: 500, height: 333 },
  'sharp/Crash_test.gif': { width: 800, height: 533, frames: 1 },
  'sharp/Flag_of_the_Netherlands-16bit.png': { width: 900, height: 600 },
  'sharp/Flag_of_the_Netherlands-alpha.png': { width: 900, height: 600, alpha: true },
  'sharp/G31D.TIF': { width: 2464, height: 3248 },
  'sharp/Landscape_9.jpg': { width: 480, height: 369 },
  'sharp/animated-loop-3.gif': { width: 370, height: 285, frames: 10, full: true },
  'sharp/animated-loop-3.webp': { width: 370, height: 285, frames: 10 },
  'sharp/bggn4a16.png': { width: 32, height: 32, alpha: true },
  'sharp/blackbug.png': { width: 2048, height: 1536, alpha: true },
  'sharp/check.svg': { refuse: 'SVG_NOT_ALLOWED' },
  'sharp/circle.svg': { refuse: 'SVG_NOT_ALLOWED' },
  'sharp/concert.jpg': { width: 400, height: 267 },
  'sharp/corrupt-header.jpg': { refuse: 'CORRUPT_IMAGE' },
  'sharp/full-transparent.png': { width: 300, height: 300, alpha: true },
  'sharp/grey-8bit-alpha.png': { width: 400, height: 300, alpha: true },
  'sharp/p3.png': { width: 8, height: 8 },
  'sharp/prophoto.png': { width: 1, height: 1 },
  'sharp/relax.jp2': { refuse: 'UNSUPPORTED_FORMAT' },
  'sharp/rotating-squares.gif': { width: 80, height: 80, frames: 30, alpha: true },
  'sharp/struct-image-04-t.svg': { refuse: 'SVG_NOT_ALLOWED' },
  'sharp/swiss.png': { width: 68, height: 68 },
  'sharp/tbgn2c16.png': { width: 32, height: 32, alpha: true },
  'sharp/truncated.jpg': { refuse: 'CORRUPT_IMAGE' },
  'sharp/uncompressed_tiff.tiff': { width: 246, height: 345 },
  // A uniform alpha of 168: semi-transparent everywhere, so PNG, not JPEG.
  'sharp/with-alpha.png': { width: 256, height: 192, alpha: true },
  'generated/empty.jpg': { refuse: 'EMPTY_FILE' },
  'generated/landscape-16bit.png': { width: 900, height: 600, likeLandscape: true },
  'generated/landscape-adobergb.jpg': LANDSCAPE,
  'generated/landscape-displayp3.jpg': LANDSCAPE,
  'generated/landscape-gps.jpg': LANDSCAPE,
  'generated/landscape-progressive.jpg': LANDSCAPE,
  'generated/not-an-image.jpg': { refuse: 'UNSUPPORTED_FORMAT' },
  'generated/photo-12mp-4000x3000.jpg': { width: 4000, height: 3000 },
  'generated/portrait.avif': { width: 1200, height: 1800 },
  'generated/portrait.heic': { width: 1200, height: 1800, full: true },
};

async function run(path: string, preset: string): Promise<Processed> {
  const files = new Map<string, VariantOutput>();
  const result = await processImage(path, {
    preset,
    write: async (v) => {
      files.set(v.suffix, v);
    },
  });
  return { result, files };
}

/** The largest still (non-poster) variant in a fallback format (JPEG or PNG). */
function fallback(p: Processed): Buffer {
  const stills = [...p.files.values()].filter((v) => v.format === 'jpeg' || v.format === 'png');
  const largest = stills.sort((a, b) => b.width - a.width)[0];
  if (!largest) throw new Error(`no JPEG/PNG among ${[...p.files.keys()].join(', ')}`);
  return largest.data;
}

describe.runIf(shared)('corpus in ../shared/corpus', () => {
  const outcomes = new Map<string, Processed | AppError>();
  let landscape: Buffer;

  beforeAll(async () => {
    for (const [name, expectation] of Object.entries(EXPECTED)) {
      const preset = 'full' in expectation && expectation.full ? 'web-v1' : 'preview-v1';
      try {
        outcomes.set(name, await run(join(corpus, name), preset));
      } catch (error) {
        const appError = coerceError(error);
        if (!isImageErrorCode(appError.code)) throw appError;
        outcomes.set(name, appError);
      }
    }
    const reference = outcomes.get('orientation/Landscape_1.jpg');
    if (!(reference && 'result' in reference)) throw new Error('Landscape_1.jpg was not processed');
    landscape = await thumbnail(fallback(reference), 32, 24);
  }, 600_000);

  it('lists every file of the corpus in its expectations', () => {
    const present = ['orientation', 'sharp', 'generated'].flatMap((dir) =>
      readdirSync(join(corpus, dir)).map((f) => `${dir}/${f}`),
    );
    expect(present.sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const [name, expectation] of Object.entries(EXPECTED)) {
    if ('refuse' in expectation) {
      it(`refuses ${name} with ${expectation.refuse}`, () => {
        const outcome = outcomes.get(name);
        expect(outcome).toBeInstanceOf(AppError);
        expect((outcome as AppError).code).toBe(expectation.refuse);
      });
      continue;
    }
    it(`processes ${name} upright at ${expectation.width}x${expectation.height}`, async () => {
      const outcome = outcomes.get(name);
      if (outcome instanceof AppError) throw outcome;
      const p = outcome as Processed;
      expect(p.result.width).toBe(expectation.width);
      expect(p.result.height).toBe(expectation.height);
      if (expectation.frames !== undefined) expect(p.result.frames).toBe(expectation.frames);
      if (expectation.alpha !== undefined) expect(p.result.hasAlpha).toBe(expectation.alpha);
      for (const v of p.files.values()) {
        const meta = await sharp(v.data).metadata();
        expect(meta.exif, `${v.suffix} carries EXIF`).toBeUndefined();
        expect(meta.xmp, `${v.suffix} carries XMP`).toBeUndefined();
        expect(meta.iptc, `${v.suffix} carries IPTC`).toBeUndefined();
        expect(meta.space, v.suffix).toBe(meta.channels && meta.channels <= 2 ? 'b-w' : 'srgb');
      }
      if (expectation.likeLandscape) {
        const mad = meanAbsoluteDifference(await thumbnail(fallback(p), 32, 24), landscape);
        expect(mad, 'mean absolute difference from Landscape_1').toBeLessThan(8);
      }
    });
  }

  it('turns animations into animated WebP variants plus a poster', () => {
    for (const name of [
      'sharp/animated-loop-3.gif',
      'sharp/animated-loop-3.webp',
      'sharp/rotating-squares.gif',
    ]) {
      const p = outcomes.get(name) as Processed;
      const roles = p.result.variants.map((v) => `${v.role}:${v.animated}`);
      expect(roles, name).toContain('image:true');
      expect(roles, name).toContain('poster:false');
    }
  });

  it('converts the CMYK JPEG to sRGB with the colours libvips derives from its SWOP profile', async () => {
    const p = outcomes.get('sharp/Channel_digital_image_CMYK_color.jpg') as Processed;
    const expected = await sharp(join(corpus, 'sharp/Channel_digital_image_CMYK_color.jpg'))
      .toColourspace('srgb')
      .jpeg({ quality: 95 })
      .toBuffer();
    const mad = meanAbsoluteDifference(await thumbnail(fallback(p)), await thumbnail(expected));
    expect(mad).toBeLessThan(6);
  });

  it('keeps the Dutch flag red, white and blue from a 16-bit PNG', async () => {
    const jpeg = fallback(outcomes.get('sharp/Flag_of_the_Netherlands-16bit.png') as Processed);
    const { height } = await sharp(jpeg).metadata();
    const red = await pixelAt(jpeg, 10, Math.floor(height / 6));
    const white = await pixelAt(jpeg, 10, Math.floor(height / 2));
    const blue = await pixelAt(jpeg, 10, Math.floor((5 * height) / 6));
    expect(red[0]).toBeGreaterThan(150);
    expect(red[2]).toBeLessThan(80);
    expect(Math.min(...white)).toBeGreaterThan(230);
    expect(blue[2]).toBeGreaterThan(110);
    expect(blue[0]).toBeLessThan(80);
  });

  it('decodes the HEVC HEIC into the same picture as the AVIF of the same scene', async () => {
    const heic = fallback(outcomes.get('generated/portrait.heic') as Processed);
    const avif = fallback(outcomes.get('generated/portrait.avif') as Processed);
    expect(
      meanAbsoluteDifference(await thumbnail(heic, 24, 36), await thumbnail(avif, 24, 36)),
    ).toBeLessThan(8);
  });
});
