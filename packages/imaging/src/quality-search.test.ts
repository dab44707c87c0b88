import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { encodeResized, type Resized } from './encode.ts';
import { getPreset, type QualitySearch } from './presets.ts';
import { type ProbeEncode, searchQuality } from './probe-search.ts';
import { chooseQualities, type FormatChoice } from './quality-search.ts';
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
  const preset = getPreset('web-v3');
  const search = preset.qualitySearch as QualitySearch;
  const baseline = getPreset(search.baseline);

  /** Bytes of every chosen setting on the probe, and of the baseline's. */
  async function totals(
    probe: Resized,
    choices: FormatChoice[],
  ): Promise<{ chosen: number; reference: number }> {
    let chosen = 0;
    let reference = 0;
    for (const choice of choices) {
      // Not encoded by the search: the baseline's own options, the same bytes on both sides.
      if (choice.reference.bytes === undefined) {
        expect(choice.options).toEqual(baseline[choice.format]);
        continue;
      }
      chosen += (await encodeResized(probe, choice.format, choice.options)).data.length;
      reference += choice.reference.bytes;
    }
    return { chosen, reference };
  }

  it('decides every format the image gets, each at its baseline score or above, within the baseline bytes', async () => {
    const probe = await probeOf(await photoJpeg(256, 192, 95));
    const choices = await chooseQualities(probe, preset, ['avif', 'webp', 'jpeg']);
    expect(choices.map((c) => c.format).sort()).toEqual(['avif', 'jpeg', 'webp']);
    for (const choice of choices) {
      if (choice.source === 'reference') {
        expect(choice.options).toEqual(baseline[choice.format]);
        continue;
      }
      if (choice.source === 'preset') {
        expect(choice.options).toEqual(preset[choice.format]);
        continue;
      }
      const quality = (choice.options as { quality: number }).quality;
      const chosen = choice.probes.find((p) => p.quality === quality) as ProbeEncode;
      const target = (choice.reference.score ?? Number.POSITIVE_INFINITY) + search.margin;
      expect(chosen.score).toBeGreaterThanOrEqual(target);
      // No lower quality that was tried also passed (for a speed format).
      if (choice.format === 'avif') {
        expect(choice.probes.filter((p) => p.quality < quality && p.score >= target)).toEqual([]);
      }
    }
    const { chosen, reference } = await totals(probe, choices);
    expect(chosen).toBeLessThanOrEqual(reference);
  });

  it('keeps an image without JPEG (alpha: PNG) within the baseline bytes', async () => {
    const input = await sharp(await photoJpeg(256, 192, 95))
      .ensureAlpha(0.8)
      .png()
      .toBuffer();
    const probe = await probeOf(input);
    const choices = await chooseQualities(probe, preset, ['avif', 'webp', 'png']);
    expect(choices.map((c) => c.format).sort()).toEqual(['avif', 'png', 'webp']);
    const { chosen, reference } = await totals(probe, choices);
    expect(chosen).toBeLessThanOrEqual(reference);
  });

  it('tells each choice as soon as it is final, once per format', async () => {
    const probe = await probeOf(await photoJpeg(128, 96, 95));
    const told: string[] = [];
    const choices = await chooseQualities(probe, preset, ['avif', 'webp', 'jpeg'], {
      onChoice: (choice) => told.push(choice.format),
    });
    expect(told.sort()).toEqual(['avif', 'jpeg', 'webp']);
    expect(choices).toHaveLength(3);
  });

  it('tells the formats it never changes first, without encoding one that keeps the baseline options', async () => {
    const probe = await probeOf(await photoJpeg(128, 96, 95));
    const told: string[] = [];
    const choices = await chooseQualities(probe, preset, ['avif', 'webp', 'jpeg'], {
      onChoice: (choice) => told.push(choice.format),
    });
    // web-v3's WebP is neither searched nor lowered: final before the AVIF encodes are back.
    expect(told[0]).toBe('webp');
    const webp = choices.find((c) => c.format === 'webp') as FormatChoice;
    expect(webp.options).toEqual(baseline.webp);
    expect(webp.reference.bytes).toBeUndefined();
  });

  it('falls back to the baseline setting when the fast one cannot reach its score', async () => {
    const probe = await probeOf(await photoJpeg(256, 192, 95));
    const avif = search.speed.avif;
    if (!avif) throw new Error('web-v3 searches AVIF');
    const capped: QualitySearch = {
      ...search,
      speed: { avif: { ...avif, min: 5, max: 10, start: [8], fast: { ...avif.fast, quality: 8 } } },
    };
    const choices = await chooseQualities(probe, { ...preset, qualitySearch: capped }, [
      'avif',
      'jpeg',
    ]);
    const choice = choices.find((c) => c.format === 'avif');
    expect(choice?.source).toBe('reference');
    expect(choice?.options).toEqual(baseline.avif);
    expect(choice?.probes.every((p) => p.quality <= 10)).toBe(true);
    // Nothing needs the payer's bytes: it takes the baseline's options too,
    // so this image gets web-v1's encodes.
    const jpeg = choices.find((c) => c.format === 'jpeg');
    expect(jpeg?.source).toBe('reference');
    expect(jpeg?.options).toEqual(baseline.jpeg);
  });

  it('keeps a payer on its preset options only when AVIF takes its faster setting', async () => {
    const seen = new Set<string>();
    for (const quality of [95, 60, 30]) {
      const probe = await probeOf(await photoJpeg(256, 192, quality));
      const choices = await chooseQualities(probe, preset, ['avif', 'webp', 'jpeg']);
      const avif = choices.find((c) => c.format === 'avif') as FormatChoice;
      const jpeg = choices.find((c) => c.format === 'jpeg') as FormatChoice;
      seen.add(avif.source);
      if (avif.source === 'reference') {
        // Nothing needs the JPEG's bytes: web-v1's JPEG, so web-v1's encodes.
        expect(jpeg.source, `source q${quality}`).toBe('reference');
        expect(jpeg.options).toEqual(baseline.jpeg);
      } else {
        // AVIF effort 0 was taken: the JPEG pays (table 2, or a lowered quality of it).
        expect(avif.source).toBe('search');
        expect(jpeg.source, `source q${quality}`).not.toBe('reference');
      }
      const { chosen, reference } = await totals(probe, choices);
      expect(chosen, `source q${quality}`).toBeLessThanOrEqual(reference);
    }
    // Both branches ran (a change of the fixtures must not turn this test into a no-op).
    expect([...seen].sort()).toEqual(['reference', 'search']);
  });

  it('tells each format the options it is finally encoded with', async () => {
    for (const quality of [95, 30]) {
      const probe = await probeOf(await photoJpeg(256, 192, quality));
      const told = new Map<string, unknown>();
      const choices = await chooseQualities(probe, preset, ['avif', 'webp', 'jpeg'], {
        // A copy, as variants encode with the options they are told.
        onChoice: (choice) => told.set(choice.format, structuredClone(choice.options)),
      });
      for (const choice of choices) {
        expect(told.get(choice.format), `${choice.format}, source q${quality}`).toEqual(
          choice.options,
        );
      }
    }
  });

  it('scores nothing when even the lowest quality takes more bytes than the cap allows', async () => {
    const probe = await probeOf(await photoJpeg(256, 192, 95));
    const avif = search.speed.avif;
    if (!avif) throw new Error('web-v3 searches AVIF');
    const capped: QualitySearch = { ...search, speed: { avif: { ...avif, maxBytesRatio: 0.5 } } };
    let scored = 0;
    const choices = await chooseQualities(
      probe,
      { ...preset, qualitySearch: capped },
      ['avif', 'jpeg'],
      {
        scorer: async () => {
          scored += 1;
          return 100;
        },
      },
    );
    expect(scored).toBe(0);
    const choice = choices.find((c) => c.format === 'avif');
    expect(choice?.source).toBe('reference');
    expect(choice?.options).toEqual(baseline.avif);
  });

  it('lowers a payer only while it still reaches its baseline score', async () => {
    const probe = await probeOf(await photoJpeg(256, 192, 95));
    const choices = await chooseQualities(probe, preset, ['avif', 'jpeg']);
    const jpeg = choices.find((c) => c.format === 'jpeg') as FormatChoice;
    if (jpeg.source === 'search') {
      const quality = (jpeg.options as { quality: number }).quality;
      for (const p of jpeg.probes.filter((x) => x.quality >= quality)) {
        expect(p.score).toBeGreaterThanOrEqual((jpeg.reference.score ?? 0) + search.margin);
      }
    }
    const { chosen, reference } = await totals(probe, choices);
    expect(chosen).toBeLessThanOrEqual(reference);
  });
});
