import { describe, expect, it } from 'vitest';
import type { VariantOutput } from './encode.ts';
import { probe } from './probe.ts';
import { HEAD_BYTES, probeHeader } from './probe-header.ts';
import { processImage } from './process.ts';
import { apng, pixelAt, solid } from './test-fixtures.ts';
import type { ImageWarning } from './warnings.ts';

describe('APNG detection', () => {
  it('tells an APNG whose first frame is its default image from its acTL before the IDAT', async () => {
    const file = await apng(['#ff0000', '#00ff00', '#0000ff']);
    expect(await probe(file)).toMatchObject({
      format: 'png',
      frames: 1,
      apng: { frames: 3, defaultImageAnimated: true },
    });
    expect((await probeHeader(file.subarray(0, HEAD_BYTES), file.length)).apng).toEqual({
      frames: 3,
      defaultImageAnimated: true,
    });
  });

  it('tells an APNG whose default image is not part of the animation (no fcTL before the IDAT)', async () => {
    const file = await apng(['#ff0000', '#00ff00', '#0000ff'], { defaultImage: '#ffff00' });
    expect((await probe(file)).apng).toEqual({ frames: 3, defaultImageAnimated: false });
  });

  it('takes neither a plain PNG nor one whose acTL follows the IDAT for an APNG', async () => {
    const plain = await solid(48, 32, '#ff0000').png().toBuffer();
    expect((await probe(plain)).apng).toBeUndefined();
    const late = await apng(['#ff0000', '#00ff00'], { controlAfterIdat: true });
    expect((await probe(late)).apng).toBeUndefined();
  });
});

describe('APNG processing', () => {
  async function processed(file: Buffer) {
    const warnings: ImageWarning[] = [];
    const files: VariantOutput[] = [];
    const result = await processImage(file, {
      preset: 'preview-v1',
      write: async (v) => {
        files.push(v);
      },
      onWarning: (w) => warnings.push(w),
    });
    return { result, warnings, files };
  }

  it('makes still variants of the first frame and warns that the animation is dropped', async () => {
    const { result, warnings, files } = await processed(
      await apng(['#ff0000', '#00ff00', '#0000ff']),
    );
    expect(result.frames).toBe(1);
    expect(result.variants.every((v) => !v.animated && v.role === 'image')).toBe(true);
    expect(warnings).toEqual([
      {
        code: 'APNG_ANIMATION_DROPPED',
        message:
          "An animated PNG (APNG) of 3 frames is processed as a still: its variants keep only its default image, the animation's first frame; animated variants are made from GIF and WebP only",
        context: { frames: 3, defaultImageAnimated: true },
      },
    ]);
    const [r, g, b] = await pixelAt(files[0]?.data ?? Buffer.alloc(0), 10, 10);
    expect(r).toBeGreaterThan(200);
    expect(g + b).toBeLessThan(60);
  });

  it('keeps the default image when it is outside the animation, and says so', async () => {
    const { warnings, files } = await processed(
      await apng(['#ff0000', '#00ff00', '#0000ff'], { defaultImage: '#ffff00' }),
    );
    expect(warnings.map((w) => w.context)).toEqual([{ frames: 3, defaultImageAnimated: false }]);
    expect(warnings[0]?.message).toContain(
      'its default image, which is not part of the animation (what viewers without APNG support show)',
    );
    const [r, g, b] = await pixelAt(files[0]?.data ?? Buffer.alloc(0), 10, 10);
    expect(Math.min(r, g)).toBeGreaterThan(200);
    expect(b).toBeLessThan(60);
  });

  it('warns about nothing for a plain PNG', async () => {
    const { warnings } = await processed(await solid(48, 32, '#ff0000').png().toBuffer());
    expect(warnings).toEqual([]);
  });
});
