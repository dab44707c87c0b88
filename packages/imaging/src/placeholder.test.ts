import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { processImage } from './process.ts';
import { alphaPng, solid } from './test-fixtures.ts';

/** The dominant colour processImage records for `input` (the small preview preset). */
/**
 * An opaque photo-like JPEG made of smooth colour waves: unlike the noise of
 * `photoJpeg` (libvips' gaussian noise is random), the same bytes every run.
 */
async function patternJpeg(width: number, height: number): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const i = (y * width + x) * 3;
      data[i] = 128 + Math.round(100 * Math.sin(x / 23));
      data[i + 1] = 110 + Math.round(60 * Math.cos(y / 17));
      data[i + 2] = 140 + Math.round(80 * Math.sin((x + y) / 41));
    }
  }
  return await sharp(data, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

async function dominantOf(input: Buffer): Promise<string> {
  const result = await processImage(input, { preset: 'preview-v1' });
  return result.dominantColor;
}

/**
 * A `size` × `size` PNG of `channels` channels: `inside(x, y)` pixels get `fill`, the
 * others `background` (fully transparent black unless told).
 */
function shapePng(
  size: number,
  inside: (x: number, y: number) => boolean,
  fill: number[],
  background: number[] = [0, 0, 0, 0],
): Promise<Buffer> {
  const channels = fill.length as 2 | 4;
  const data = Buffer.alloc(size * size * channels);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      data.set(inside(x, y) ? fill : background, (y * size + x) * channels);
    }
  }
  return sharp(data, { raw: { width: size, height: size, channels } })
    .png()
    .toBuffer();
}

/** Within a centred disc covering `share` of a `size` × `size` square. */
const disc =
  (size: number, share: number) =>
  (x: number, y: number): boolean =>
    (x + 0.5 - size / 2) ** 2 + (y + 0.5 - size / 2) ** 2 <= (share * size * size) / Math.PI;

describe('dominant colour', () => {
  it('of a blue disc on a transparent background is the blue, not the invisible black', async () => {
    // The disc covers ~21 % of the area; the other 79 % are transparent black (0, 0, 0, 0).
    const logo = await shapePng(200, disc(200, 0.21), [20, 40, 230, 255]);
    expect(await dominantOf(logo)).toBe('#1828e8');
  });

  it('of a grey-and-alpha PNG is the grey of its visible pixels', async () => {
    const grey = await shapePng(120, disc(120, 0.2), [160, 255], [0, 0]);
    expect(await dominantOf(grey)).toBe('#a8a8a8');
  });

  it('counts each pixel by its opacity: a faint wide shadow does not outweigh the logo', async () => {
    // 20 % opaque orange disc inside a 70 % black shadow at alpha 24: by count the shadow
    // wins (about 2.5 times the pixels), by opacity the disc (about 4 times the weight).
    const inDisc = disc(200, 0.2);
    const inShadow = disc(200, 0.7);
    const data = Buffer.alloc(200 * 200 * 4);
    for (let y = 0; y < 200; y++) {
      for (let x = 0; x < 200; x++) {
        const pixel = inDisc(x, y)
          ? [250, 130, 20, 255]
          : inShadow(x, y)
            ? [0, 0, 0, 24]
            : [0, 0, 0, 0];
        data.set(pixel, (y * 200 + x) * 4);
      }
    }
    const logo = await sharp(data, { raw: { width: 200, height: 200, channels: 4 } })
      .png()
      .toBuffer();
    expect(await dominantOf(logo)).toBe('#f88818');
  });

  it('of a half-transparent image is the colour of its pixels', async () => {
    expect(await dominantOf(await alphaPng(64, 48))).toBe('#f80808');
  });

  it('of a fully transparent image falls back to its colour channels alone (#080808 for transparent black)', async () => {
    const empty = await solid(64, 48, { r: 0, g: 0, b: 0, alpha: 0 }, 4).png().toBuffer();
    expect(await dominantOf(empty)).toBe('#080808');
  });

  it('of an opaque image is unchanged: sharp’s own stats().dominant', async () => {
    // Pinned from the code before transparency was taken into account.
    expect(await dominantOf(await patternJpeg(400, 300))).toBe('#c838d8');
    expect(await dominantOf(await solid(80, 60, '#336699').png().toBuffer())).toBe('#386898');
  });
});
