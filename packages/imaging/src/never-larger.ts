/**
 * The "never larger" rule of a preset (`neverLarger`): a variant that is not
 * smaller than the next wider variant of the same format is not stored — the
 * wider file serves that width too (more pixels for no more bytes). Outputs
 * larger than their source are a recurring complaint against managed
 * resizers; this keeps the manifest pointing each width at the best file.
 *
 * Every stored byte is an encoder's output: the original is never stored in a
 * variant's place, however web-ready and small it is. A container rebuilt from
 * an allow-list was tried and dropped — image data can itself carry a payload
 * a decoder ignores (an unused table, a scan past the last row, deflate data
 * past the image, a second image chunk) — so only re-encoding proves that no
 * byte of an upload reaches a public variant. A manifest written before may
 * still say `reuse: "original"` (contracts' `ImageResult`).
 */
import type { VariantOutput } from './encode.ts';
/** One manifest entry: a variant to store, or a width served by another entry's file. */
export interface ManifestEntry {
  variant: VariantOutput;
  /** `undefined`: stored as encoded; `wider`: not stored, served by `variant.suffix`. */
  reuse?: 'wider';
}

/**
 * Applies the rule to every variant of one image. Variants are grouped by
 * format, role and animation; within a group, from the widest down, each
 * width is kept only when it is smaller than the file that serves the next
 * wider width. Returns one entry per input variant, same order.
 */
export function applyNeverLarger(variants: readonly VariantOutput[]): ManifestEntry[] {
  const entries = new Map<VariantOutput, ManifestEntry>();
  const groups = new Map<string, VariantOutput[]>();
  for (const v of variants) {
    const key = `${v.format}/${v.role}/${v.animated}`;
    groups.set(key, [...(groups.get(key) ?? []), v]);
  }
  for (const group of groups.values()) {
    const widestFirst = [...group].sort((a, b) => b.width - a.width);
    let served: { suffix: string; bytes: number } | undefined;
    for (const variant of widestFirst) {
      if (served === undefined) {
        entries.set(variant, { variant });
        served = { suffix: variant.suffix, bytes: variant.data.length };
        continue;
      }
      if (variant.data.length >= served.bytes) {
        entries.set(variant, { variant: { ...variant, suffix: served.suffix }, reuse: 'wider' });
      } else {
        entries.set(variant, { variant });
        served = { suffix: variant.suffix, bytes: variant.data.length };
      }
    }
  }
  return variants.map((v) => entries.get(v) as ManifestEntry);
}

/** The bytes the manifest records for an entry: the file that serves it. */
export function servedBytes(entry: ManifestEntry, all: readonly ManifestEntry[]): number {
  if (entry.reuse !== 'wider') return entry.variant.data.length;
  const file = all.find((e) => e.reuse !== 'wider' && e.variant.suffix === entry.variant.suffix);
  return file ? file.variant.data.length : entry.variant.data.length;
}
