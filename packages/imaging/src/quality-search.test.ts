import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { Resized } from './encode.ts';
import { getPreset, type QualitySearch } from './presets.ts';
import { chooseQualities, type ProbeEncode, searchQuality } from './quality-search.ts';
import { photoJpeg } from './test-fixtures.ts';

/** A fake encoder with a known, monotone quality → score curve. */
function curve(score: (q: number) => number): {
  calls: number[];
  encode: (q: number) => Promise<ProbeEncode>;
} {
  const calls: number[] = [];
  return {
    calls,
    encode: async (quality) => {
      calls.push(quality);
      return { quality, bytes: quality * 100, score: score(quality) };
    },
  };
}

async function probeOf(input: Buffer): Promise<Resized> {
  const { data, info } = await sharp(input).raw().toBuffer({ resolveWithObject: true });
  return {
    input: data,
    options: { raw: { width: info.width, height: info.height, channels: info.channels } },
    width: info.width,
    height: info.height,
    channels: info.channels,
    hasAlpha: false,
    keepIcc: false,
  };
}

describe('searchQuality', () => {
  it('converges on the lowest quality that reaches the target', async () => {
    const fake = curve((q) => 40 + 0.8 * q); // q53 → 82.4, q54 → 83.2
    const probes = await searchQuality(
      50,
      83,
      { min: 30, max: 90, maxProbes: 5, slope: 1 },
      fake.encode,
    );
    const passing = probes.filter((p) => p.score >= 83).map((p) => p.quality);
    expect(Math.min(...passing)).toBe(54);
    expect(fake.calls).toContain(53);
    expect(fake.calls.length).toBeLessThanOrEqual(5);
  });

  it('walks down from a start that already passes', async () => {
    const fake = curve((q) => q);
    const probes = await searchQuality(
      80,
      71.5,
      { min: 30, max: 90, maxProbes: 4, slope: 1 },
      fake.encode,
    );
    expect(Math.min(...probes.filter((p) => p.score >= 71.5).map((p) => p.quality))).toBe(72);
  });

  it('never probes outside the range nor more than maxProbes times', async () => {
    const fake = curve((q) => q / 10); // never reaches the target
    const probes = await searchQuality(
      50,
      99,
      { min: 40, max: 60, maxProbes: 3, slope: 1 },
      fake.encode,
    );
    expect(probes.every((p) => p.score < 99)).toBe(true);
    expect(fake.calls.every((q) => q >= 40 && q <= 60)).toBe(true);
    expect(fake.calls.length).toBeLessThanOrEqual(3);
    expect(fake.calls).toContain(60);
  });
});

describe('searchQuality byte cap', () => {
  it('stops when a failing probe already takes more bytes than the cap', async () => {
    const fake = curve((q) => q / 2); // bytes = 100 q: q50 is 5,000 bytes and scores 25
    const probes = await searchQuality(
      50,
      40,
      { min: 30, max: 90, maxProbes: 5, slope: 1, byteCap: 4_000 },
      fake.encode,
    );
    expect(fake.calls).toEqual([50]);
    expect(probes.every((p) => p.score < 40)).toBe(true);
  });
});

describe('chooseQualities (real sharp, SSIMULACRA 2)', () => {
  const preset = getPreset('web-v2');
  const search = preset.qualitySearch as QualitySearch;
  const baseline = getPreset(search.baseline);

  it('picks qualities that reach the reference score without exceeding the byte budget', async () => {
    const probe = await probeOf(await photoJpeg(256, 192, 95));
    const choices = await chooseQualities(probe, preset, ['avif', 'webp', 'jpeg']);
    expect(choices.map((c) => c.format).sort()).toEqual(Object.keys(search.formats).sort());
    let total = 0;
    let referenceTotal = 0;
    for (const choice of choices) {
      const spec = search.formats[choice.format];
      referenceTotal += choice.reference.bytes;
      if (choice.source === 'reference') {
        expect(choice.options).toEqual(baseline[choice.format]);
        total += choice.reference.bytes;
        continue;
      }
      const quality = (choice.options as { quality: number }).quality;
      const chosen = choice.probes.find((p) => p.quality === quality) as ProbeEncode;
      expect(chosen.score).toBeGreaterThanOrEqual(choice.reference.score + search.margin);
      expect(chosen.bytes).toBeLessThanOrEqual(choice.reference.bytes * (spec?.maxBytesRatio ?? 1));
      // No lower quality that was tried also passed.
      const lowerPassing = choice.probes.filter(
        (p) => p.quality < quality && p.score >= choice.reference.score + search.margin,
      );
      expect(lowerPassing).toEqual([]);
      total += chosen.bytes;
    }
    expect(total).toBeGreaterThan(0);
    expect(referenceTotal).toBeGreaterThan(0);
  });

  it('keeps the baseline setting when nothing pays for the extra bytes (alpha: no JPEG)', async () => {
    const probe = await probeOf(await photoJpeg(256, 192, 95));
    const choices = await chooseQualities(probe, preset, ['avif', 'webp', 'png']);
    for (const choice of choices) {
      if (choice.source === 'search') {
        const quality = (choice.options as { quality: number }).quality;
        const chosen = choice.probes.find((p) => p.quality === quality) as ProbeEncode;
        expect(chosen.bytes).toBeLessThanOrEqual(choice.reference.bytes);
      }
    }
  });

  it('searches only the formats the image gets (no JPEG for an image with alpha)', async () => {
    const probe = await probeOf(await photoJpeg(128, 96, 95));
    const choices = await chooseQualities(probe, preset, ['avif', 'webp', 'png']);
    expect(choices.map((c) => c.format)).toEqual(['avif']);
  });

  it('falls back to the reference setting when the fast one cannot reach its score', async () => {
    const probe = await probeOf(await photoJpeg(256, 192, 95));
    const avif = search.formats.avif;
    if (!avif) throw new Error('web-v2 searches AVIF');
    const capped: QualitySearch = {
      ...search,
      formats: { avif: { ...avif, min: 5, max: 10, fast: { ...avif.fast, quality: 8 } } },
    };
    const [choice] = await chooseQualities(probe, { ...preset, qualitySearch: capped }, ['avif']);
    expect(choice?.source).toBe('reference');
    expect(choice?.options).toEqual(baseline.avif);
    expect(choice?.probes.every((p) => p.quality <= 10)).toBe(true);
  });
});
