/**
 * The probe's two tools for quality-search.ts: a scorer that compares an
 * encoding of the probe with its own pixels (SSIMULACRA 2 on its centre), and
 * the secant search for the lowest quality of one format that reaches a score.
 */
import sharp from 'sharp';
import type { Resized } from './encode.ts';
import { compareToReference, prepareReference } from './ssimulacra2.ts';

/** One encode of the probe. */
export interface ProbeEncode {
  quality: number;
  bytes: number;
  score: number;
}

/** A function that scores encoded bytes against the probe's pixels (100 = identical). */
export type ProbeScorer = (encoded: Buffer) => Promise<number>;

/**
 * Scores encodings of `probe` with SSIMULACRA 2 (alpha blended onto grey, as
 * the metric does) on the centre `crop` × `crop` pixels.
 */
export function createProbeScorer(probe: Resized, crop = Number.POSITIVE_INFINITY): ProbeScorer {
  const channels = probe.hasAlpha ? 4 : 3;
  const width = Math.min(crop, probe.width);
  const height = Math.min(crop, probe.height);
  const left = Math.floor((probe.width - width) / 2);
  const top = Math.floor((probe.height - height) / 2);
  const pixels = async (input: Buffer, options: Resized['options']): Promise<Buffer> => {
    let pipeline = sharp(input, options).extract({ left, top, width, height });
    pipeline = probe.hasAlpha ? pipeline.ensureAlpha() : pipeline.removeAlpha();
    return pipeline.toColourspace('srgb').raw().toBuffer();
  };
  // Prepared at once: the reference side overlaps the first probe encodes.
  const prepared = pixels(probe.input, probe.options).then((data) =>
    prepareReference({ data, width, height, channels }),
  );
  // Marked handled: a failure surfaces where a score is awaited, and when an
  // encode fails first no score is ever asked for.
  prepared.catch(() => undefined);
  return async (encoded) => {
    const reference = await prepared;
    const data = await pixels(encoded, {});
    return compareToReference(reference, { data, width, height, channels });
  };
}

/**
 * Finds the lowest quality in `[min, max]` whose score reaches `target`,
 * with at most `maxProbes` calls of `encode`: a secant step on the scores
 * seen so far (starting from `slope` points per quality step), stopping when
 * a passing quality sits one above a failing one, or when a failing probe
 * already takes more than `byteCap` bytes (a higher quality would only take
 * more). Returns every probe; the answer is the lowest passing one, if any.
 */
export async function searchQuality(
  start: number,
  target: number,
  bounds: { min: number; max: number; maxProbes: number; slope: number; byteCap?: number },
  encode: (quality: number) => Promise<ProbeEncode>,
): Promise<ProbeEncode[]> {
  const { min, max, maxProbes } = bounds;
  const probes: ProbeEncode[] = [];
  let quality = Math.min(max, Math.max(min, Math.round(start)));
  for (let i = 0; i < maxProbes; i++) {
    const result = await encode(quality);
    probes.push(result);
    const passing = probes.filter((p) => p.score >= target);
    const failing = probes.filter((p) => p.score < target);
    const lowestPass = Math.min(...passing.map((p) => p.quality));
    const highestFail = Math.max(...failing.map((p) => p.quality));
    if (passing.length > 0 && lowestPass - 1 <= Math.max(highestFail, min - 1)) break;
    if (passing.length === 0 && quality >= max) break;
    if (result.score < target && result.bytes > (bounds.byteCap ?? Number.POSITIVE_INFINITY)) break;
    // Slope from the two probes nearest the target, else the default.
    const [a, b] = [...probes].sort(
      (x, y) => Math.abs(x.score - target) - Math.abs(y.score - target),
    );
    const slope =
      a && b && a.quality !== b.quality && (a.score - b.score) / (a.quality - b.quality) > 0.1
        ? (a.score - b.score) / (a.quality - b.quality)
        : bounds.slope;
    let next = Math.round(result.quality + (target - result.score) / slope);
    // Stay strictly inside the bracket, and move at least one step.
    const low = failing.length > 0 ? highestFail + 1 : min;
    const high = passing.length > 0 ? lowestPass - 1 : max;
    next = Math.min(high, Math.max(low, next));
    if (probes.some((p) => p.quality === next)) {
      next =
        result.score >= target
          ? Math.max(low, result.quality - 1)
          : Math.min(high, result.quality + 1);
    }
    if (next < min || next > max || probes.some((p) => p.quality === next)) break;
    quality = next;
  }
  return probes;
}
