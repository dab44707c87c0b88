/**
 * Storage keys, derived only from ids the backend generated (never from user
 * input), and their parsers: the layout here is how the orphan sweeper and the
 * deletes prove an object is one the pipeline wrote (docs/security.md).
 */
import { IMAGE_ID_SOURCE } from './ids.ts';

/** Prefix of the originals the backend stores (uploads; ingested sources keep their own keys). */
export const ORIGINALS_ROOT = 'originals/';

/** Prefix every variant the processor writes is under: the only part of the store served as media. */
export const VARIANTS_ROOT = 'variants/';

/** Key of an uploaded original. */
export function originalKey(imageId: string): string {
  return `${ORIGINALS_ROOT}${imageId}`;
}

/**
 * Whether `key` is under the variants root — served by /media, swept by the
 * orphan sweeper when it parses, and never ingested as a source.
 */
export function isUnderVariants(key: string): boolean {
  return key.startsWith(VARIANTS_ROOT);
}

/** Prefix every variant of one image generation is written under (the JobSpec's `variantPrefix`). */
export function variantPrefix(imageId: string, preset: string, generation: number): string {
  return `${allVariantsPrefix(imageId)}${preset}/g${generation}/`;
}

/** Prefix of every variant of an image, all generations. */
export function allVariantsPrefix(imageId: string): string {
  return `${VARIANTS_ROOT}${imageId}/`;
}

// Preset names and variant suffixes share the contract's suffix shape (`Variant.suffix`).
const NAME = '[a-z0-9][a-z0-9._-]{0,63}';
const VARIANT_KEY = new RegExp(
  `^variants/(${IMAGE_ID_SOURCE})/(${NAME})/g(0|[1-9][0-9]{0,8})/(${NAME})$`,
);

/** The parts of a variant key, or undefined when `key` is not in the layout the pipeline writes. */
export function parseVariantKey(
  key: string,
): { imageId: string; preset: string; generation: number; suffix: string } | undefined {
  const m = VARIANT_KEY.exec(key);
  if (!m) return undefined;
  return { imageId: m[1]!, preset: m[2]!, generation: Number(m[3]), suffix: m[4]! };
}
