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
  const { dominant } = await sharp(small.data, {
    raw: { width: small.info.width, height: small.info.height, channels: 4 },
  }).stats();
  const hex = (n: number): string => Math.round(n).toString(16).padStart(2, '0');
  return {
    placeholder: Buffer.from(hash).toString('base64'),
    dominantColor: `#${hex(dominant.r)}${hex(dominant.g)}${hex(dominant.b)}`,
  };
}
