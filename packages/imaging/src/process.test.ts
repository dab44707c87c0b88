import { setTimeout as sleep } from 'node:timers/promises';
import { ImageResult } from '@slideshow/contracts';
import { AppError } from '@slideshow/runtime';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { WRITES_AT_ONCE } from './concurrency.ts';
import type { VariantOutput } from './encode.ts';
import { isDisplayP3 } from './icc.ts';
import { PRESETS, type Preset } from './presets.ts';
import { pickProbeWidth, processImage, targetWidths } from './process.ts';
import type { FormatChoice } from './quality-search.ts';
import { ssimulacra2 } from './ssimulacra2.ts';
import {
  alphaPng,
  animatedGif,
  meanAbsoluteDifference,
  ORIENTED,
  orientedJpeg,
  photoJpeg,
  pixelAt,
  solid,
  thumbnail,
} from './test-fixtures.ts';

/** JPEG's end-of-image marker. */
const EOI = Buffer.from([0xff, 0xd9]);

interface Processed {
  result: ImageResult;
  files: Map<string, VariantOutput>;
}

async function run(input: Buffer, preset = 'web-v1'): Promise<Processed> {
  const files = new Map<string, VariantOutput>();
  const result = await processImage(input, {
    preset,
    write: async (v) => {
      files.set(v.suffix, v);
    },
  });
  return { result, files };
}

function file(p: Processed, suffix: string): Buffer {
  const v = p.files.get(suffix);
  if (!v) throw new Error(`no variant ${suffix} among ${[...p.files.keys()].join(', ')}`);
  return v.data;
}

const near = (actual: number[], expected: number[], tolerance = 40): void => {
  actual.forEach((v, i) => {
    expect(Math.abs(v - (expected[i] ?? 0)), `channel ${i}: ${actual} vs ${expected}`).toBeLessThan(
      tolerance,
    );
  });
};

/** A store whose `failAt`-th write fails; its other writes hold on until `release()`. */
function holdingStore(failAt: number) {
  const count = { started: 0, inFlight: 0 };
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const write = async (): Promise<void> => {
    count.started += 1;
    count.inFlight += 1;
    const nth = count.started;
    try {
      if (nth === failAt) {
        await Promise.resolve();
        throw new Error('the store is full');
      }
      await released;
    } finally {
      count.inFlight -= 1;
    }
  };
  return { count, write, release: () => release() };
}

/** Whether `outcome` has settled, asked after a few turns of the event loop. */
function settledSoon(outcome: Promise<unknown>): () => Promise<boolean> {
  let settled = false;
  outcome.then(
    () => (settled = true),
    () => (settled = true),
  );
  return async () => {
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    return settled;
  };
}

describe('targetWidths', () => {
  it('never upscales and offers the source width between two preset widths', () => {
    const widths = [320, 640, 1280, 1920, 2560];
    expect(targetWidths(widths, 4000)).toEqual(widths);
    expect(targetWidths(widths, 2560)).toEqual(widths);
    expect(targetWidths(widths, 700)).toEqual([320, 640, 700]);
    expect(targetWidths(widths, 200)).toEqual([200]);
  });
});

describe('pickProbeWidth', () => {
  it('takes the widest variant within the wanted width, else the narrowest', () => {
    expect(pickProbeWidth([320, 640, 1280], 640)).toBe(640);
    expect(pickProbeWidth([320, 500], 640)).toBe(500);
    expect(pickProbeWidth([200], 640)).toBe(200);
    expect(pickProbeWidth([700, 900], 640)).toBe(700);
  });
});

describe('orientation', () => {
  const processed = new Map<number, Processed>();
  beforeAll(async () => {
    for (let o = 1; o <= 8; o++) processed.set(o, await run(await orientedJpeg(o), 'preview-v1'));
  });

  for (let o = 1; o <= 8; o++) {
    it(`turns EXIF orientation ${o} upright: red marker top-left, blue bottom-right`, async () => {
      const p = processed.get(o) as Processed;
      expect(p.result.width).toBe(ORIENTED.width);
      expect(p.result.height).toBe(ORIENTED.height);
      const jpeg = file(p, `w${ORIENTED.width}.jpg`);
      const meta = await sharp(jpeg).metadata();
      expect([meta.width, meta.height]).toEqual([ORIENTED.width, ORIENTED.height]);
      expect(meta.orientation).toBeUndefined();
      near(await pixelAt(jpeg, 3, 3), [255, 0, 0]);
      near(await pixelAt(jpeg, ORIENTED.width - 4, ORIENTED.height - 4), [0, 0, 255]);
      near(await pixelAt(jpeg, ORIENTED.width - 4, 3), [255, 255, 255]);
      near(await pixelAt(jpeg, 3, ORIENTED.height - 4), [255, 255, 255]);
    });
  }
});

describe('colour', () => {
  it('converts a CMYK JPEG without a profile to sRGB', async () => {
    const cmyk = await solid(64, 48, '#d03020').toColourspace('cmyk').jpeg().toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const p = await run(cmyk, 'preview-v1');
    const meta = await sharp(file(p, 'w64.jpg')).metadata();
    expect(meta.space).toBe('srgb');
    expect(meta.channels).toBe(3);
    near(await pixelAt(file(p, 'w64.jpg'), 32, 24), [208, 48, 32], 50);
  });

  it('converts a CMYK JPEG with an embedded profile to sRGB', async () => {
    const cmyk = await solid(64, 48, '#2060c0').withIccProfile('cmyk').jpeg().toBuffer();
    const source = await sharp(cmyk).metadata();
    expect(source.space).toBe('cmyk');
    expect(source.hasProfile).toBe(true);
    const p = await run(cmyk, 'preview-v1');
    expect((await sharp(file(p, 'w64.webp')).metadata()).space).toBe('srgb');
    near(await pixelAt(file(p, 'w64.webp'), 32, 24), [32, 96, 192], 50);
  });

  it('converts Display-P3 input to sRGB by default and keeps P3 when the preset asks', async () => {
    const p3 = await solid(40, 30, '#20a040').withIccProfile('p3').png().toBuffer();
    const srgb = await run(p3, 'preview-v1');
    const kept = await run(p3, 'web-v1-p3');
    const srgbMeta = await sharp(file(srgb, 'w40.jpg')).metadata();
    const keptMeta = await sharp(file(kept, 'w40.jpg')).metadata();
    expect(isDisplayP3(srgbMeta.icc)).toBe(false);
    expect(isDisplayP3(keptMeta.icc)).toBe(true);
    // The same colour either way once each file's profile is applied.
    near(
      await pixelAt(file(kept, 'w40.jpg'), 20, 15),
      await pixelAt(file(srgb, 'w40.jpg'), 20, 15),
      12,
    );
  });
});

describe('formats', () => {
  let alpha: Processed;
  let sixteen: Processed;
  let animated: Processed;
  beforeAll(async () => {
    alpha = await run(await alphaPng());
    sixteen = await run(
      await solid(50, 40, '#3366cc').toColourspace('rgb16').png().toBuffer(),
      'preview-v1',
    );
    animated = await run(await animatedGif(4));
  });

  it('writes PNG instead of JPEG for an image with real transparency', async () => {
    expect(alpha.result.hasAlpha).toBe(true);
    expect([...alpha.files.keys()].sort()).toEqual(['w64.avif', 'w64.png', 'w64.webp']);
    const png = await sharp(file(alpha, 'w64.png')).metadata();
    expect(png.hasAlpha).toBe(true);
    const { data } = await sharp(file(alpha, 'w64.png'))
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect(data[(10 * 64 + 60) * 4 + 3]).toBeLessThan(200);
    expect(data[(10 * 64 + 4) * 4 + 3]).toBe(255);
  });

  it('writes JPEG when the alpha channel is fully opaque', async () => {
    const opaque = await solid(30, 20, { r: 10, g: 20, b: 30, alpha: 1 }, 4).png().toBuffer();
    const p = await run(opaque, 'preview-v1');
    expect(p.result.hasAlpha).toBe(false);
    expect([...p.files.keys()].sort()).toEqual(['w30.jpg', 'w30.webp']);
  });

  it('reads a 16-bit PNG and writes 8-bit sRGB variants of the same colour', async () => {
    const jpeg = file(sixteen, 'w50.jpg');
    expect((await sharp(jpeg).metadata()).depth).toBe('uchar');
    near(await pixelAt(jpeg, 25, 20), [0x33, 0x66, 0xcc], 12);
  });

  it('turns an animated GIF into animated WebP variants and a still poster', async () => {
    expect(animated.result.frames).toBe(4);
    const webp = animated.files.get('w48.webp');
    expect(webp?.animated).toBe(true);
    const meta = await sharp(webp?.data).metadata();
    expect(meta.pages).toBe(4);
    expect(meta.loop).toBe(0);
    const poster = animated.files.get('poster.w48.jpg');
    expect(poster?.role).toBe('poster');
    expect((await sharp(poster?.data).metadata()).pages ?? 1).toBe(1);
    expect(animated.result.variants.map((v) => v.suffix).sort()).toEqual([
      'poster.w48.jpg',
      'w48.webp',
    ]);
  });
});

describe('variants of a photo', () => {
  let photo: Buffer;
  let p: Processed;
  beforeAll(async () => {
    const plain = await photoJpeg(700, 500);
    photo = await sharp(plain)
      .withIccProfile('srgb')
      .withExif({
        IFD0: { Make: 'Acme', Model: 'Snap 1', Artist: 'someone' },
        IFD3: {
          GPSLatitudeRef: 'N',
          GPSLatitude: '48/1 51/1 2964/100',
          GPSLongitudeRef: 'E',
          GPSLongitude: '2/1 17/1 4020/100',
        },
      })
      .jpeg()
      .toBuffer();
    p = await run(photo);
  });

  it('returns a record that satisfies the ImageResult contract', () => {
    expect(ImageResult.parse(p.result)).toEqual(p.result);
    expect(p.result).toMatchObject({
      preset: 'web-v1',
      width: 700,
      height: 500,
      format: 'jpeg',
      frames: 1,
    });
    expect(p.result.dominantColor).toMatch(/^#[0-9a-f]{6}$/);
    expect(Buffer.from(p.result.placeholder ?? '', 'base64').length).toBeGreaterThan(5);
    expect(Object.keys(p.result.timings)).toEqual(
      expect.arrayContaining(['probe', 'decode', 'placeholder', 'encode', 'total']),
    );
  });

  it('writes AVIF, WebP and JPEG at every width up to the source and never upscales', () => {
    const suffixes = p.result.variants.map((v) => v.suffix).sort();
    expect(suffixes).toEqual(
      ['320', '640', '700'].flatMap((w) => [`w${w}.avif`, `w${w}.jpg`, `w${w}.webp`]).sort(),
    );
    for (const v of p.result.variants) {
      expect(v.width).toBeLessThanOrEqual(700);
      expect(v.height).toBe(Math.round((v.width * 500) / 700));
      expect(v.bytes).toBe(p.files.get(v.suffix)?.data.length);
    }
  });

  it('strips EXIF, GPS, XMP and IPTC from every variant but keeps an ICC profile', async () => {
    expect((await sharp(photo).metadata()).exif).toBeDefined();
    for (const v of p.files.values()) {
      const meta = await sharp(v.data).metadata();
      expect(meta.exif, v.suffix).toBeUndefined();
      expect(meta.xmp, v.suffix).toBeUndefined();
      expect(meta.iptc, v.suffix).toBeUndefined();
      expect(meta.icc, v.suffix).toBeDefined();
    }
  });

  it('keeps the picture: every variant looks like the source', async () => {
    const reference = await thumbnail(photo);
    for (const v of p.files.values()) {
      expect(meanAbsoluteDifference(await thumbnail(v.data), reference), v.suffix).toBeLessThan(6);
    }
  });

  it('gives an image narrower than the smallest width one variant at its own width', async () => {
    const small = await run(await photoJpeg(200, 100), 'web-v1');
    expect(small.result.variants.map((v) => v.suffix).sort()).toEqual([
      'w200.avif',
      'w200.jpg',
      'w200.webp',
    ]);
  });
});

describe('refusals', () => {
  it('refuses a truncated JPEG with CORRUPT_IMAGE instead of a half-grey picture', async () => {
    const jpeg = await photoJpeg(300, 200);
    const error = await processImage(jpeg.subarray(0, Math.floor(jpeg.length / 2))).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('CORRUPT_IMAGE');
    expect((error as AppError).retryable).toBe(false);
  });

  it('refuses a truncated JPEG that still ends with EOI instead of filling it with grey', async () => {
    const jpeg = await photoJpeg(400, 300);
    const cut = Buffer.concat([jpeg.subarray(0, Math.floor(jpeg.length * 0.4)), EOI]);
    await expect(processImage(cut)).rejects.toMatchObject({ code: 'CORRUPT_IMAGE' });
  });

  it('refuses a 16 × 16 JPEG whose SOF claims 9999 × 9999 without decoding 100 MP of grey', async () => {
    const jpeg = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#888' } })
      .jpeg()
      .toBuffer();
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    jpeg.writeUInt16BE(9999, sof + 5);
    jpeg.writeUInt16BE(9999, sof + 7);
    await expect(processImage(jpeg)).rejects.toMatchObject({ code: 'CORRUPT_IMAGE' });
  });

  it('refuses a truncated TIFF as CORRUPT_IMAGE, not as an unknown format', async () => {
    const tiff = await photoJpeg(300, 200).then((j) => sharp(j).tiff().toBuffer());
    const cut = tiff.subarray(0, Math.floor(tiff.length / 2));
    await expect(processImage(cut)).rejects.toMatchObject({ code: 'CORRUPT_IMAGE' });
  });

  it('writes nothing for a refused image', async () => {
    const written: string[] = [];
    await expect(
      processImage(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), {
        write: async (v) => {
          written.push(v.suffix);
        },
      }),
    ).rejects.toMatchObject({ code: 'SVG_NOT_ALLOWED' });
    expect(written).toEqual([]);
  });

  it('stops with a retryable TIMEOUT when its signal is already aborted', async () => {
    await expect(
      processImage(await photoJpeg(40, 30), { signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ code: 'TIMEOUT', retryable: true });
  });

  it('names the known presets when asked for an unknown one', async () => {
    await expect(processImage(await photoJpeg(40, 30), { preset: 'web-v9' })).rejects.toThrow(
      'Expected one of web-v1, web-v1-p3, web-v3, preview-v1 for preset but received "web-v9"',
    );
  });
});

describe('web-v3 (content-aware settings)', () => {
  it('decides each format per image and encodes every width with the choice', async () => {
    // 1.5 MP of variants: above the search's pixel floor.
    const input = await photoJpeg(1200, 900, 95);
    const seen: FormatChoice[][] = [];
    const files = new Map<string, VariantOutput>();
    const result = await processImage(input, {
      preset: 'web-v3',
      write: async (v) => {
        files.set(v.suffix, v);
      },
      onQualityChoice: (choices) => seen.push(choices),
    });
    expect(result.preset).toBe('web-v3');
    expect([...files.keys()].sort()).toEqual(
      ['avif', 'jpg', 'webp'].flatMap((e) => [320, 640, 1200].map((w) => `w${w}.${e}`)).sort(),
    );
    expect(seen).toHaveLength(1);
    expect(seen[0]?.map((c) => c.format).sort()).toEqual(['avif', 'jpeg', 'webp']);
    expect(result.timings['quality-search']).toBeGreaterThan(0);
    // Every variant still looks like the source (perceptual, never bytes).
    const reference = await sharp(input).resize(640).removeAlpha().raw().toBuffer();
    for (const ext of ['avif', 'webp', 'jpg']) {
      const variant = files.get(`w640.${ext}`) as VariantOutput;
      const pixels = await sharp(variant.data).removeAlpha().raw().toBuffer();
      const score = ssimulacra2(
        { data: reference, width: 640, height: 480, channels: 3 },
        { data: pixels, width: 640, height: 480, channels: 3 },
      );
      expect(score, ext).toBeGreaterThan(60);
    }
  });
});

describe('web-v3 with the never-larger rule', () => {
  it('writes after the search, a few variants at a time (WRITES_AT_ONCE)', async () => {
    const input = await photoJpeg(1200, 900, 95);
    const events: string[] = [];
    let inFlight = 0;
    let most = 0;
    let secondWrite: () => void = () => undefined;
    const secondWriteStarted = new Promise<void>((resolve) => {
      secondWrite = resolve;
    });
    const result = await processImage(input, {
      preset: 'web-v3',
      write: async (v) => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        events.push(`write ${v.suffix}`);
        if (events.filter((e) => e.startsWith('write ')).length === 1) {
          // The first write holds on until another write starts (or 2 s pass): one at a
          // time, the second would never start.
          await Promise.race([secondWriteStarted, sleep(2_000)]);
        } else {
          secondWrite();
        }
        inFlight -= 1;
      },
      onQualityChoice: () => events.push('search'),
    });
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(WRITES_AT_ONCE);
    expect(events[0]).toBe('search');
    // Every written file is in the record; entries reusing a wider file are not written.
    const written = events.filter((e) => e.startsWith('write ')).map((e) => e.slice(6));
    expect(written.sort()).toEqual(
      result.variants
        .filter((v) => v.reuse !== 'wider')
        .map((v) => v.suffix)
        .sort(),
    );
    // The placeholder ran beside the encodes and is still recorded.
    expect(result.placeholder).toBeTruthy();
    expect(result.timings.placeholder).toBeGreaterThan(0);
  });

  it('after a failed write starts no other, and throws once every write in flight has settled', async () => {
    const store = holdingStore(1);
    const outcome = processImage(await photoJpeg(1200, 900, 95), {
      preset: 'web-v3',
      write: store.write,
    });
    const settled = settledSoon(outcome);
    for (let i = 0; i < 600 && store.count.started < WRITES_AT_ONCE; i++) await sleep(10);
    expect(store.count.started).toBe(WRITES_AT_ONCE);
    // The failure is known, but writes are still in flight: processImage has not thrown.
    expect(await settled()).toBe(false);
    store.release();
    await expect(outcome).rejects.toThrow('the store is full');
    expect(store.count.inFlight).toBe(0);
    // No write started after the failure (the image has more variants than that).
    expect(store.count.started).toBe(WRITES_AT_ONCE);
  });

  it("looks the search's baseline up in the presets it is given (a job spec's closure)", async () => {
    const web = PRESETS['web-v3'] as Preset;
    const closure = { 'web-v3': web };
    // Without its baseline in the closure, both paths name what is missing: the
    // search (above the pixel floor) and the baseline's options (below it).
    for (const [width, height] of [
      [1200, 900],
      [480, 320],
    ] as const) {
      await expect(
        processImage(await photoJpeg(width, height, 95), { preset: 'web-v3', presets: closure }),
      ).rejects.toThrow('Expected one of web-v3 for preset but received "web-v1"');
    }
  });
});

describe('a preset without the never-larger rule (writes beside the encodes)', () => {
  it('throws a failed write only once the writes in flight settle', async () => {
    // A custom preset without the never-larger rule writes each variant as soon as it is
    // encoded. The second write fails while the first is still in flight: processImage must not
    // throw before that write has settled, and no encode still running may write after it.
    const eager = { ...(PRESETS['web-v1'] as Preset), name: 'eager', neverLarger: false };
    const store = holdingStore(2);
    const outcome = processImage(await photoJpeg(1200, 900, 95), {
      preset: 'eager',
      presets: { eager },
      write: store.write,
    });
    const settled = settledSoon(outcome);
    for (let i = 0; i < 600 && store.count.started < 2; i++) await sleep(10);
    expect(store.count.started).toBe(2);
    expect(await settled()).toBe(false);
    expect(store.count.inFlight).toBe(1);
    store.release();
    await expect(outcome).rejects.toThrow('the store is full');
    expect(store.count.inFlight).toBe(0);
    // The encodes that were running finish on their own; none of them writes.
    const after = store.count.started;
    await sleep(1_500);
    expect(store.count.started).toBe(after);
  });
});

describe('web-v3 on small images', () => {
  it('skips the search below its pixel floor and encodes with the baseline settings', async () => {
    const input = await photoJpeg(480, 320, 95);
    const seen: FormatChoice[][] = [];
    const written = new Map<string, Map<string, Buffer>>();
    for (const preset of ['web-v3', 'web-v1']) {
      const files = new Map<string, Buffer>();
      const result = await processImage(input, {
        preset,
        write: async (v) => {
          files.set(v.suffix, v.data);
        },
        onQualityChoice: (choices) => seen.push(choices),
      });
      expect(result.timings['quality-search']).toBeUndefined();
      written.set(preset, files);
    }
    expect(seen).toEqual([]);
    // Same encoder, same settings, same pixels: the same files as web-v1. AVIF
    // is a speed format, and the JPEG (a payer) pays for nothing without a
    // faster AVIF, so it keeps web-v1's tables.
    expect([...(written.get('web-v3')?.keys() ?? [])].sort()).toEqual(
      ['avif', 'jpg', 'webp'].flatMap((e) => [`w320.${e}`, `w480.${e}`]).sort(),
    );
    for (const [suffix, data] of written.get('web-v3') ?? []) {
      expect(data.equals(written.get('web-v1')?.get(suffix) ?? Buffer.alloc(0)), suffix).toBe(true);
    }
  });
});

describe('icc', () => {
  it('recognises Display-P3 from a v4 (mluc) description and not sRGB', async () => {
    const p3 = await solid(4, 4, '#ff0000').withIccProfile('p3').png().toBuffer();
    const srgb = await solid(4, 4, '#ff0000').withIccProfile('srgb').png().toBuffer();
    expect(isDisplayP3((await sharp(p3).metadata()).icc)).toBe(true);
    expect(isDisplayP3((await sharp(srgb).metadata()).icc)).toBe(false);
  });
});
