import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  compareToReference,
  prepareReference,
  type SrgbImage,
  ssimulacra2,
} from './ssimulacra2.ts';
import { photoJpeg } from './test-fixtures.ts';

async function rgb(input: Buffer): Promise<SrgbImage> {
  const { data, info } = await sharp(input)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}

describe('ssimulacra2', () => {
  it('scores an image against itself 100', async () => {
    const image = await rgb(await photoJpeg(160, 120));
    expect(ssimulacra2(image, image)).toBe(100);
  });

  it('scores heavier JPEG compression lower, step by step', async () => {
    const source = await photoJpeg(256, 192, 100);
    const reference = prepareReference(await rgb(source));
    const scores: number[] = [];
    for (const quality of [95, 85, 70, 50, 30, 10]) {
      const encoded = await sharp(source).jpeg({ quality }).toBuffer();
      scores.push(compareToReference(reference, await rgb(encoded)));
    }
    for (let i = 1; i < scores.length; i++) {
      expect(scores[i], `scores ${scores.join(', ')}`).toBeLessThan(scores[i - 1] as number);
    }
    expect(scores[0]).toBeGreaterThan(80);
    expect(scores.at(-1)).toBeLessThan(40);
  });

  it('scores a blurred copy lower than a lightly compressed one', async () => {
    const source = await photoJpeg(256, 192, 100);
    const reference = prepareReference(await rgb(source));
    const light = await sharp(source).jpeg({ quality: 90 }).toBuffer();
    const blurred = await sharp(source).blur(2).png().toBuffer();
    expect(compareToReference(reference, await rgb(blurred))).toBeLessThan(
      compareToReference(reference, await rgb(light)),
    );
  });

  it('ignores colour under full transparency (alpha is blended onto grey first)', () => {
    const width = 32;
    const height = 32;
    const a = new Uint8Array(width * height * 4);
    const b = new Uint8Array(width * height * 4);
    for (let i = 0; i < width * height; i++) {
      a.set([255, 0, 0, 0], i * 4);
      b.set([0, 0, 255, 0], i * 4);
    }
    const score = ssimulacra2(
      { data: a, width, height, channels: 4 },
      { data: b, width, height, channels: 4 },
    );
    expect(score).toBe(100);
  });

  it('scores a fixed pair exactly as computing all 108 terms did (maps without weight are skipped)', () => {
    // A deterministic pair (sine bands, ramps, a little pseudo-random noise)
    // and the score the implementation gave before it skipped the maps whose
    // weights are all zero: skipping them must not move the score.
    const pattern = (shift: number): SrgbImage => {
      const width = 96;
      const height = 64;
      const data = new Uint8Array(width * height * 3);
      let seed = 12345;
      const random = (): number => {
        seed = (seed * 1103515245 + 12345) >>> 0;
        return seed / 2 ** 32;
      };
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const i = (y * width + x) * 3;
          data[i] = (128 + 100 * Math.sin((x + shift) / 9) + 20 * random()) & 255;
          data[i + 1] = (x * 255) / width;
          data[i + 2] = ((y * 255) / height + 30 * random()) & 255;
        }
      }
      return { data, width, height, channels: 3 };
    };
    expect(ssimulacra2(pattern(0), pattern(1.5))).toBeCloseTo(31.874525226935205, 9);
  });

  it('refuses images of different sizes', () => {
    const a: SrgbImage = { data: new Uint8Array(16 * 16 * 3), width: 16, height: 16, channels: 3 };
    const b: SrgbImage = { data: new Uint8Array(16 * 8 * 3), width: 16, height: 8, channels: 3 };
    expect(() => ssimulacra2(a, b)).toThrow(
      new TypeError('Expected an image of 16x16 for distorted but received 16x8'),
    );
  });
});
