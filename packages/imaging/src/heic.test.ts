/**
 * HEIC through the real decoder (libheif-js) on files the default suite makes
 * itself: tools/heic-writer.ts writes HEVC bitstreams (PCM-coded, so the
 * decoded pixels are the written ones up to 4:2:0 chroma subsampling).
 */

import { AppError } from '@slideshow/runtime';
import { type ColourBox, writeHeic } from '@slideshow/tools/heic-writer';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeStill } from './decode.ts';
import { type DecodedHeic, decodeHeic } from './heic.ts';
import { isDisplayP3 } from './icc.ts';
import { DEFAULT_LIMITS } from './limits.ts';
import { getPreset } from './presets.ts';
import { probe } from './probe.ts';
import { processImage } from './process.ts';
import { meanAbsoluteDifference } from './test-fixtures.ts';

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

/** Saturated colours, where Display P3 and sRGB differ most: red across, green down, blue against red. */
function saturated(width: number, height: number): Uint8Array {
  const data = gradient(width, height);
  for (let i = 0; i < data.length; i += 3) data[i + 2] = 255 - (data[i] ?? 0);
  return data;
}

/** libvips' built-in Display P3 profile, as sharp attaches it. */
async function displayP3Profile(): Promise<Buffer> {
  const tagged = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } })
    .withIccProfile('p3')
    .png()
    .toBuffer();
  const { icc } = await sharp(tagged).metadata();
  if (!icc) throw new Error('sharp attached no p3 profile');
  return icc;
}

/**
 * The same pixels as a JPEG that declares them Display P3 without converting
 * them: an APP2 ICC_PROFILE segment (ICC.1:2010 Annex B.4) after SOI.
 */
async function p3TaggedJpeg(pixels: DecodedHeic): Promise<Buffer> {
  const { data, width, height, channels } = pixels;
  const jpeg = await sharp(data, { raw: { width, height, channels } })
    .removeAlpha()
    .jpeg({ quality: 100, chromaSubsampling: '4:4:4' })
    .toBuffer();
  const payload = Buffer.concat([
    Buffer.from('ICC_PROFILE\0', 'latin1'),
    Buffer.from([1, 1]),
    await displayP3Profile(),
  ]);
  const marker = Buffer.alloc(4);
  marker.writeUInt16BE(0xffe2, 0);
  marker.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), marker, payload, jpeg.subarray(2)]);
}

/** decodeStill (full size by default): the sRGB (or kept P3) pixels every variant is encoded from. */
async function intermediate(input: Buffer, preset = 'preview-v1', maxWidth?: number) {
  const info = await probe(input);
  return decodeStill(input, info, getPreset(preset), DEFAULT_LIMITS, maxWidth ?? info.width);
}

/** An intermediate's pixels as 8-bit RGB, whatever its layout. */
async function rgb(input: Buffer, maxWidth?: number): Promise<Buffer> {
  const decoded = await intermediate(input, 'preview-v1', maxWidth);
  return sharp(decoded.input, decoded.options).removeAlpha().raw().toBuffer();
}

const P3_NCLX: ColourBox = { type: 'nclx', primaries: 12, transfer: 13 };
/**
 * A `prof` box alone leaves matrix and range to the HEVC VUI, which the writer
 * does not write (libheif then assumes limited range), so the ICC-tagged files
 * also carry an nclx box with unspecified primaries and transfer (2), as an
 * iPhone's VUI does.
 */
const UNSPECIFIED_NCLX: ColourBox = { type: 'nclx', primaries: 2, transfer: 2 };

describe('HEIC colour', () => {
  const [width, height] = [64, 48];
  const pixels = saturated(width, height);
  const heic = (colour?: ColourBox[]) =>
    writeHeic({ data: pixels, width, height, channels: 3 }, { colour });

  it('converts a HEIC tagged Display P3 (ICC and nclx) to sRGB like the same pixels in a P3-tagged JPEG', async () => {
    // The pixels libheif decodes (the same whatever the colr box says), declared P3 in a JPEG.
    const jpeg = await p3TaggedJpeg(await decodeHeic(heic(), 10_000_000));
    const tagged = {
      nclx: heic([P3_NCLX]),
      icc: heic([{ type: 'prof', icc: await displayP3Profile() }, UNSPECIFIED_NCLX]),
    };
    // Full size, and resized (a HEIC is resized before its colour transform, a JPEG after).
    for (const maxWidth of [width, 40]) {
      const reference = await rgb(jpeg, maxWidth);
      const bt709 = await rgb(heic(), maxWidth);
      // The premise: read as P3, these colours are clearly not the same as read as sRGB.
      expect(meanAbsoluteDifference(reference, bt709)).toBeGreaterThan(6);
      for (const [name, file] of Object.entries(tagged)) {
        const converted = await rgb(file, maxWidth);
        // Only the JPEG's own loss (q100, 4:4:4) separates the two.
        expect(meanAbsoluteDifference(converted, reference), `${name} at ${maxWidth}`).toBeLessThan(
          1,
        );
        expect(meanAbsoluteDifference(converted, bt709), `${name} at ${maxWidth}`).toBeGreaterThan(
          6,
        );
      }
    }
  });

  it('keeps a Display P3 HEIC in P3 when the preset asks, and converts it to sRGB otherwise', async () => {
    const p3 = heic([P3_NCLX]);
    expect(await intermediate(p3, 'web-v1-p3')).toMatchObject({ keepIcc: true });
    for (const [preset, keptP3] of [
      ['web-v1-p3', true],
      ['preview-v1', false],
    ] as const) {
      const jpegs: Buffer[] = [];
      await processImage(p3, {
        preset,
        write: async (v) => {
          if (v.format === 'jpeg') jpegs.push(v.data);
        },
      });
      expect(jpegs.length, preset).toBeGreaterThan(0);
      for (const jpeg of jpegs) {
        expect(isDisplayP3((await sharp(jpeg).metadata()).icc), preset).toBe(keptP3);
      }
    }
  });

  it('reports the ICC profile and nclx code points libheif reads, HDR transfers included', async () => {
    const icc = await displayP3Profile();
    const both = await decodeHeic(heic([{ type: 'prof', icc }, P3_NCLX]), 10_000_000);
    expect(both.colour.icc?.equals(icc)).toBe(true);
    expect(both.colour.nclx).toEqual({ primaries: 12, transfer: 13 });
    const pq = await decodeHeic(heic([{ type: 'nclx', primaries: 9, transfer: 16 }]), 10_000_000);
    expect(pq.colour).toEqual({ nclx: { primaries: 9, transfer: 16 } });
    expect((await decodeHeic(heic([]), 10_000_000)).colour).toEqual({});
  });

  it('passes the pixels of an untagged, BT.709 or unreadably tagged HEIC on unchanged, as sRGB', async () => {
    const files = {
      untagged: heic([]),
      bt709: heic(),
      'unreadable profile': heic([
        { type: 'prof', icc: Buffer.from('not a profile') },
        UNSPECIFIED_NCLX,
      ]),
    };
    for (const [name, file] of Object.entries(files)) {
      const decoded = await decodeHeic(file, 10_000_000);
      const still = await intermediate(file);
      expect(still, name).toMatchObject({ width, height, channels: 4, keepIcc: false });
      expect(Buffer.from(still.input).equals(decoded.data), name).toBe(true);
    }
  });
});
