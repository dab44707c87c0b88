import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { VariantOutput } from './encode.ts';
import { PRESETS, type Preset } from './presets.ts';
import { processImage } from './process.ts';
import { chunk } from './test-fixtures.ts';

/** Processes `input` with `preset`, keeping what was written by suffix. */
async function run(input: Buffer, preset: Preset) {
  const written = new Map<string, VariantOutput>();
  const result = await processImage(input, {
    preset: preset.name,
    presets: { [preset.name]: preset },
    write: async (v) => {
      written.set(v.suffix, v);
    },
  });
  return { result, written };
}

/**
 * A 1280 × 960 picture of vertical lines every third pixel: sharp's Lanczos
 * resize to 640 px turns them into a beat pattern that AVIF codes in more
 * bytes than the clean 1280 px original (measured: 640 px ≈ 1.5 KB, 1280 px
 * ≈ 1.4 KB at web-v1's AVIF setting).
 */
async function periodThree(): Promise<Buffer> {
  const width = 1280;
  const height = 960;
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x += 3) raw.fill(255, (y * width + x) * 3, (y * width + x) * 3 + 3);
  }
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

const webV1 = PRESETS['web-v1'] as Preset;

describe('never larger', () => {
  it('does not store a variant that is not smaller than the next wider one and points its width at the wider file', async () => {
    const { result, written } = await run(await periodThree(), webV1);
    const avif = result.variants.filter((v) => v.format === 'avif');
    const w640 = avif.find((v) => v.width === 640);
    const w1280 = avif.find((v) => v.width === 1280);
    expect(w640).toMatchObject({ suffix: 'w1280.avif', reuse: 'wider', height: 480 });
    expect(w1280?.reuse).toBeUndefined();
    expect(w640?.bytes).toBe(w1280?.bytes);
    expect(written.has('w640.avif')).toBe(false);
    expect(written.get('w1280.avif')?.data.length).toBe(w1280?.bytes);
    // The formats where the narrower file is smaller keep every width.
    for (const suffix of ['w320.jpg', 'w640.jpg', 'w1280.jpg', 'w320.webp', 'w640.webp']) {
      expect(written.has(suffix)).toBe(true);
    }
    // Every width still has an entry, and every entry names a stored file of its size.
    expect(result.variants).toHaveLength(9);
    for (const v of result.variants) expect(written.get(v.suffix)?.data.length).toBe(v.bytes);
  });

  it('stores every encode when the preset turns the rule off', async () => {
    const { result, written } = await run(await periodThree(), { ...webV1, neverLarger: false });
    expect(result.variants.every((v) => v.reuse === undefined)).toBe(true);
    expect(written.has('w640.avif')).toBe(true);
    const avif = result.variants.filter((v) => v.format === 'avif');
    // The measurement the first test relies on: here the narrower AVIF is the larger file.
    expect(avif.find((v) => v.width === 640)!.bytes).toBeGreaterThanOrEqual(
      avif.find((v) => v.width === 1280)!.bytes,
    );
  });

  it("never stores the original, even a web-ready one smaller than its re-encode: every stored byte is an encoder's", async () => {
    // A 640 px sRGB JPEG at quality 40, no profile or metadata: web-v1's q80 re-encode is larger.
    const original = await sharp({
      create: { width: 640, height: 400, channels: 3, background: '#4a7' },
    })
      .composite([
        {
          input: await sharp({
            create: { width: 200, height: 120, channels: 3, background: '#c33' },
          })
            .png()
            .toBuffer(),
          left: 100,
          top: 80,
        },
      ])
      .jpeg({ quality: 40 })
      .toBuffer();
    const { result, written } = await run(original, webV1);
    const jpeg = result.variants.find((v) => v.format === 'jpeg' && v.width === 640);
    expect(jpeg?.reuse).toBeUndefined();
    expect(jpeg?.bytes).toBeGreaterThan(original.length);
    expect(written.get('w640.jpg')?.data.equals(original)).toBe(false);
  });

  it('never serves the original when it carries metadata a variant would not', async () => {
    const original = await sharp({
      create: { width: 640, height: 400, channels: 3, background: '#4a7' },
    })
      .jpeg({ quality: 40 })
      .withExif({ IFD0: { Copyright: 'someone' } })
      .toBuffer();
    const { result, written } = await run(original, webV1);
    const jpeg = result.variants.find((v) => v.format === 'jpeg' && v.width === 640);
    expect(jpeg?.reuse).toBeUndefined();
    expect(written.get('w640.jpg')?.data.equals(original)).toBe(false);
  });
});

/** A JPEG segment: marker, big-endian length (payload + 2), payload. */
function segment(marker: number, payload: Buffer): Buffer {
  const head = Buffer.from([0xff, marker, 0, 0]);
  head.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([head, payload]);
}

/** An 800 × 400 white picture with a red top-left quadrant, as PNG (the base of every carrier). */
async function quadrant(): Promise<Buffer> {
  const red = { create: { width: 400, height: 200, channels: 3 as const, background: '#f00' } };
  return sharp({ create: { width: 800, height: 400, channels: 3, background: '#fff' } })
    .composite([{ input: red, left: 0, top: 0 }])
    .png()
    .toBuffer();
}

/** Every secret must be absent from every written variant, none of which is the original's. */
async function expectNoSecret(
  original: Buffer,
  secrets: string[],
): Promise<Map<string, VariantOutput>> {
  const { result, written } = await run(original, webV1);
  expect(result.variants.filter((v) => v.reuse !== undefined && v.reuse !== 'wider')).toEqual([]);
  for (const [name, variant] of written) {
    for (const secret of secrets) {
      expect(variant.data.includes(secret), `${secret} in ${name}`).toBe(false);
    }
  }
  return written;
}

describe('never larger: what the original may carry never reaches a variant', () => {
  it('serves a JPEG without its COM, APPn or unused DQT segments or anything after EOI', async () => {
    const jpeg = await sharp(await quadrant())
      .jpeg({ quality: 40 })
      .toBuffer();
    const zip = Buffer.concat([Buffer.from('PK\x03\x04ZIP-SECRET'), Buffer.from('PK\x05\x06')]);
    const second = await sharp({
      create: { width: 64, height: 64, channels: 3, background: '#00f' },
    })
      .jpeg()
      .withMetadata({ density: 300 })
      .toBuffer();
    const original = Buffer.concat([
      jpeg.subarray(0, 2),
      segment(0xfe, Buffer.from('COM-SECRET GPS 48.8582N 2.2945E')),
      segment(0xfe, Buffer.from('<html><script>alert(document.domain)</script></html>')),
      segment(0xe3, Buffer.from('Meta\0\0APP3-SECRET')),
      // A quantisation table no component uses (id 3): image data a decoder ignores.
      segment(
        0xdb,
        Buffer.concat([Buffer.from([0x03]), Buffer.from('DQT-SECRET'.padEnd(64, '!'))]),
      ),
      jpeg.subarray(2),
      zip,
      second,
    ]);
    const written = await expectNoSecret(original, [
      'DQT-SECRET',
      'COM-SECRET',
      '<script>',
      'APP3-SECRET',
      'ZIP-SECRET',
      'PK\x05\x06',
    ]);
    // One image: a single SOI and a single EOI, the EOI last.
    const widest = (written.get('w800.jpg') as VariantOutput).data;
    expect(widest.indexOf(Buffer.from([0xff, 0xd8]), 2)).toBe(-1);
    expect(widest.indexOf(Buffer.from([0xff, 0xd9]))).toBe(widest.length - 2);
  });

  it('serves a PNG without its text chunks or anything after IEND', async () => {
    const png = await sharp({
      create: { width: 400, height: 300, channels: 4, background: '#f008' },
    })
      .png({ palette: true, colours: 2 })
      .toBuffer();
    const ihdrEnd = 8 + 25;
    const original = Buffer.concat([
      png.subarray(0, ihdrEnd),
      chunk('tEXt', Buffer.from('Comment\0TEXT-SECRET')),
      chunk('zTXt', Buffer.concat([Buffer.from('Comment\0\0'), deflateSync('ZTXT-SECRET')])),
      chunk('iTXt', Buffer.from('Comment\0\0\0\0\0ITXT-SECRET')),
      chunk('prVt', Buffer.from('PRIVATE-CHUNK-SECRET')),
      png.subarray(ihdrEnd),
      Buffer.from('TRAILING-SECRET'),
    ]);
    const written = await expectNoSecret(original, [
      'TEXT-SECRET',
      'Comment',
      'ITXT-SECRET',
      'PRIVATE-CHUNK-SECRET',
      'TRAILING-SECRET',
    ]);
    const widest = (written.get('w400.png') as VariantOutput).data;
    expect(widest.subarray(-8, -4).toString('latin1')).toBe('IEND');
  });

  it('serves a WebP without its extra chunks or anything after the RIFF end', async () => {
    const webp = await sharp(await quadrant())
      .webp({ quality: 30 })
      .toBuffer();
    // An unknown chunk inside the RIFF (its size updated), then bytes after it.
    const extra = Buffer.from('XTRA\x0d\0\0\0CHUNK-SECRET!\0', 'latin1');
    const riff = Buffer.concat([webp, extra]);
    riff.writeUInt32LE(riff.length - 8, 4);
    const original = Buffer.concat([riff, Buffer.from('TRAILING-SECRET-GPS-48.85N')]);
    const written = await expectNoSecret(original, ['CHUNK-SECRET', 'XTRA', 'TRAILING-SECRET']);
    const widest = (written.get('w800.webp') as VariantOutput).data;
    expect(widest.readUInt32LE(4)).toBe(widest.length - 8);
  });
});
