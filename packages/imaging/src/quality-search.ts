/**
 * Content-aware quality: per image, choose each searched format's encoder
 * quality from cheap encodes of one small variant (the "probe"), so that a
 * fast encoder setting reaches the perceptual score (SSIMULACRA 2) that a
 * slower reference setting reaches on the same pixels — at the fewest bytes
 * the search finds. The idea is Cloudinary's `q_auto` (pick the quality per
 * image from a perceptual target rather than one number for every image);
 * here the target is relative: what the reference setting gives this image.
 *
 * When the fast setting cannot match the reference on the probe within the
 * searched range, or the searched formats together would need more bytes
 * than their references, a format falls back to its reference setting for
 * this image: slower, never worse and never larger than before.
 */
import sharp from 'sharp';
import type { OutputFormat } from './encode.ts';
import { type EncoderOptions, encodeResized, type Resized, type VariantOutput } from './encode.ts';
import { presetFrom } from './preset-config.ts';
import { type FormatSearch, PRESETS, type Preset } from './presets.ts';
import { compareToReference, prepareReference } from './ssimulacra2.ts';

/** Formats whose quality can be searched. */
export type SearchedFormat = 'avif' | 'webp' | 'jpeg';

/** One encode of the probe. */
export interface ProbeEncode {
  quality: number;
  bytes: number;
  score: number;
}

/** What the search chose for one format, and why. */
export interface FormatChoice {
  format: SearchedFormat;
  /** The options every variant of this format is encoded with. */
  options: EncoderOptions;
  /** `search`: the fast setting at a searched quality; `reference`: the fallback. */
  source: 'search' | 'reference';
  /** The reference setting on the probe. */
  reference: { bytes: number; score: number };
  /** Every probe encode of the fast setting, in the order tried. */
  probes: ProbeEncode[];
}

/** A function that scores encoded bytes against the probe's pixels (100 = identical). */
export type ProbeScorer = (encoded: Buffer) => Promise<number>;

/**
 * Scores encodings of `probe` with SSIMULACRA 2 (alpha blended onto grey, as
 * the metric does) on the centre `crop` × `crop` pixels: the metric runs in
 * JavaScript and its cost grows with the area, while the bytes that the
 * budget weighs stay those of the whole probe.
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

/** The options a preset gives `format`. */
function optionsOf(preset: Preset, format: OutputFormat): EncoderOptions {
  return preset[format];
}

/**
 * Chooses the encoder options of each of `formats` (the formats this image
 * gets) for the image whose probe is `probe`: the searched formats per
 * `preset.qualitySearch`, the others keep `preset`'s options but their probe
 * bytes count towards the byte budget against the baseline preset. `scorer`
 * defaults to SSIMULACRA 2 against the probe's own pixels; the baseline is
 * looked up in `presets` (a job spec's closure, or the repository's file).
 */
export async function chooseQualities(
  probe: Resized,
  preset: Preset,
  formats: readonly OutputFormat[],
  scorer?: ProbeScorer,
  presets: Readonly<Record<string, Preset>> = PRESETS,
): Promise<FormatChoice[]> {
  const search = preset.qualitySearch;
  if (!search) return [];
  const score = scorer ?? createProbeScorer(probe);
  const baseline = presetFrom({ presets, source: 'presets' }, search.baseline);
  const searched = formats.filter(
    (f): f is SearchedFormat => f !== 'png' && search.formats[f] !== undefined,
  );
  const payers = formats.filter(
    (f) =>
      !searched.includes(f as SearchedFormat) &&
      JSON.stringify(optionsOf(preset, f)) !== JSON.stringify(optionsOf(baseline, f)),
  );
  const choices = await Promise.all(
    searched.map(async (format): Promise<FormatChoice> => {
      const spec = search.formats[format] as FormatSearch;
      const referenceOptions = optionsOf(baseline, format);
      // The first fast probe is encoded alongside the reference: the search
      // is a serial chain that the format's variants wait for.
      const firstQuality = Math.min(spec.max, Math.max(spec.min, Math.round(spec.fast.quality)));
      let first: Promise<VariantOutput> | undefined = encodeResized(probe, format, {
        ...spec.fast,
        quality: firstQuality,
      });
      // Marked handled: awaited by the search's first step, or dropped when the
      // reference encode fails first (that error is the one reported).
      first.catch(() => undefined);
      const referenceEncode = await encodeResized(probe, format, referenceOptions);
      const reference = {
        bytes: referenceEncode.data.length,
        score: await score(referenceEncode.data),
      };
      const target = reference.score + search.margin;
      const probes = await searchQuality(
        spec.fast.quality,
        target,
        {
          min: spec.min,
          max: spec.max,
          maxProbes: search.maxProbes,
          slope: search.slope,
          byteCap: reference.bytes * (payers.length > 0 ? spec.maxBytesRatio : 1),
        },
        async (quality) => {
          const ahead = quality === firstQuality ? first : undefined;
          first = undefined;
          const encoded = await (ahead ?? encodeResized(probe, format, { ...spec.fast, quality }));
          return { quality, bytes: encoded.data.length, score: await score(encoded.data) };
        },
      );
      const best = probes.filter((p) => p.score >= target).sort((a, b) => a.quality - b.quality)[0];
      return best && best.bytes <= reference.bytes * spec.maxBytesRatio
        ? {
            format,
            options: { ...spec.fast, quality: best.quality },
            source: 'search',
            reference,
            probes,
          }
        : { format, options: referenceOptions, source: 'reference', reference, probes };
    }),
  );
  // All formats together may not take more bytes than the baseline's. The
  // searched formats' extra bytes (each within its maxBytesRatio) are paid
  // for by formats whose fixed options save bytes against the baseline
  // (web-v2's JPEG table, ~2x AVIF's share of the bytes); an image that gets
  // none of those (alpha: PNG instead of JPEG) must take no extra bytes, so
  // its searched formats fall back.
  if (payers.length === 0) {
    for (const choice of choices) {
      const quality = (choice.options as { quality?: number }).quality;
      const bytes = choice.probes.find((p) => p.quality === quality)?.bytes;
      if (choice.source === 'search' && (bytes ?? 0) > choice.reference.bytes) {
        choice.options = optionsOf(baseline, choice.format);
        choice.source = 'reference';
      }
    }
  }
  return choices;
}
