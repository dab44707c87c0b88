/**
 * The per-image placeholder record: a ThumbHash (https://evanw.github.io/thumbhash/)
 * and the dominant colour, both computed from an already-decoded, oriented,
 * sRGB intermediate so they cost a tiny resize, not another decode.
 */
import sharp, { type SharpOptions } from 'sharp';
import { rgbaToThumbHash } from 'thumbhash';

/** Raw pixels plus their layout, as sharp's raw input wants them. */
export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

/**
 * Longest side of the pixels the placeholder is computed from. ThumbHash keeps at
 * most 7 cosine terms per axis, so 32 px (over four samples per period of the
 * finest term) decodes to within 1–3 of 255 per channel of a 100 px input on the
 * corpus photos, at about a quarter of the JavaScript work: in a processor task that
 * code runs cold (interpreted), where the 100 px input cost ~20 ms of CPU.
 */
const PLACEHOLDER_SOURCE_PX = 32;

/** Histogram bins per channel of the dominant colour: sharp's `stats().dominant` (src/stats.cc) uses 16. */
const BINS = 16;

/** ThumbHash (base64) and dominant colour (`#rrggbb`) of an image. */
export async function placeholderOf(
  input: Buffer,
  options: SharpOptions,
): Promise<{ placeholder: string; dominantColor: string }> {
  const small = await sharp(input, options)
    .resize(PLACEHOLDER_SOURCE_PX, PLACEHOLDER_SOURCE_PX, { fit: 'inside' })
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const hash = rgbaToThumbHash(small.info.width, small.info.height, small.data);
  const dominant =
    visibleDominant(small.data) ??
    (
      await sharp(small.data, {
        raw: { width: small.info.width, height: small.info.height, channels: 4 },
      }).stats()
    ).dominant;
  const hex = (n: number): string => Math.round(n).toString(16).padStart(2, '0');
  return {
    placeholder: Buffer.from(hash).toString('base64'),
    dominantColor: `#${hex(dominant.r)}${hex(dominant.g)}${hex(dominant.b)}`,
  };
}

/**
 * The dominant colour of RGBA pixels with some transparency, each pixel counted by its
 * opacity; `undefined` when every pixel is opaque or every pixel is fully transparent.
 * sharp's `stats().dominant` drops the alpha channel and counts every pixel, so a logo on
 * a transparent background got the colour of its invisible pixels (`#080808` for the
 * usual transparent black). Same 4096-bin histogram and bin centres as sharp's, so an
 * opaque image (sharp's own answer, unchanged) and a translucent one speak the same
 * values; among equal bins the first in red, green, blue order wins.
 */
function visibleDominant(rgba: Uint8Array): { r: number; g: number; b: number } | undefined {
  const weights = new Float64Array(BINS * BINS * BINS);
  const shift = Math.log2(256 / BINS);
  let opaque = true;
  let visible = false;
  for (let i = 0; i + 3 < rgba.length; i += 4) {
    const alpha = rgba[i + 3] ?? 0;
    if (alpha !== 255) opaque = false;
    if (alpha === 0) continue;
    visible = true;
    const bin =
      (((rgba[i] ?? 0) >> shift) * BINS + ((rgba[i + 1] ?? 0) >> shift)) * BINS +
      ((rgba[i + 2] ?? 0) >> shift);
    weights[bin] = (weights[bin] ?? 0) + alpha;
  }
  if (opaque || !visible) return undefined;
  let best = 0;
  for (let bin = 1; bin < weights.length; bin++) {
    if ((weights[bin] ?? 0) > (weights[best] ?? 0)) best = bin;
  }
  const centre = (index: number): number => (index % BINS) * (256 / BINS) + 256 / BINS / 2;
  return {
    r: centre(Math.floor(best / (BINS * BINS))),
    g: centre(Math.floor(best / BINS)),
    b: centre(best),
  };
}
