import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { VariantOutput } from './encode.ts';
import { PRESETS, type Preset } from './presets.ts';
import { processImage } from './process.ts';

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

  it('serves the widest width from a web-ready original that is smaller than its re-encode', async () => {
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
    expect(jpeg).toMatchObject({ suffix: 'w640.jpg', reuse: 'original', bytes: original.length });
    expect(written.get('w640.jpg')?.data.equals(original)).toBe(true);
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
