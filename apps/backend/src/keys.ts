/** Storage keys, derived only from ids the backend generated (never from user input). */

/** Key of an uploaded original. */
export function originalKey(imageId: string): string {
  return `originals/${imageId}`;
}

/** Prefix every variant of one image generation is written under (the JobSpec's `variantPrefix`). */
export function variantPrefix(imageId: string, preset: string, generation: number): string {
  return `variants/${imageId}/${preset}/g${generation}/`;
}

/** Prefix of every variant of an image, all generations. */
export function allVariantsPrefix(imageId: string): string {
  return `variants/${imageId}/`;
}
