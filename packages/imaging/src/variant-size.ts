/**
 * The encoders' size limits and the variant sizes that respect them. sharp
 * refuses to write a WebP taller or wider than 16383 px and an AVIF/HEIF
 * beyond 16384 px (sharp src/common.cc, AssertImageTypeDimensions; for an
 * animation the limit is per frame), while our limits admit 30000 px per side:
 * a tall screenshot's variants are narrowed until their height fits.
 */

/** The longest side every output format accepts (WebP's 16383 px, the lowest). */
export const MAX_VARIANT_SIDE = 16_383;

/** The widest variant of a `width` × `height` source whose height fits {@link MAX_VARIANT_SIDE} (at least 1 px). */
export function widestVariant(width: number, height: number): number {
  if (height <= MAX_VARIANT_SIDE) return width;
  return Math.max(1, Math.floor((width * MAX_VARIANT_SIDE) / height));
}

/**
 * The height of a variant `width` px wide of a `source` (its aspect ratio kept),
 * at most {@link MAX_VARIANT_SIDE}: only a source too thin for 1 px of width
 * (1 × 20000) is squeezed.
 */
export function variantHeight(width: number, source: { width: number; height: number }): number {
  const height = Math.max(1, Math.round((width * source.height) / source.width));
  return Math.min(height, MAX_VARIANT_SIDE);
}
