/**
 * The "never larger" rule of a preset (`neverLarger`): a variant that is not
 * smaller than the next wider variant of the same format is not stored — the
 * wider file serves that width too (more pixels for no more bytes) — and the
 * widest variant of a format is not stored when the original is already that
 * file's equal on the web (same format and pixel size, 8-bit sRGB, nothing
 * to strip, not rotated) and no larger: the original's image data, in a
 * container rebuilt from an allow-list (web-copy.ts), serves that width.
 * Outputs larger than their source are a recurring complaint against managed
 * resizers; this keeps the manifest pointing each width at the best file.
 */
import type { VariantOutput } from './encode.ts';
import type { SourceFormat } from './sniff.ts';

/** What the rule needs to know about the original. */
export interface OriginalFacts {
  format: SourceFormat;
  width: number;
  height: number;
  animated: boolean;
  /**
   * The original's image data in a rebuilt container (web-copy.ts), when the
   * original is upright 8-bit sRGB without a profile or metadata, so it shows
   * exactly as a variant would; else undefined. Never the upload's own bytes.
   */
  webCopy: Buffer | undefined;
}

/** One manifest entry: a variant to store, or a width served by another entry's file. */
export interface ManifestEntry {
  variant: VariantOutput;
  /** `undefined`: stored as encoded; `original`: the original's bytes stored instead; `wider`: not stored, served by `variant.suffix`. */
  reuse?: 'original' | 'wider';
}

const SOURCE_AS_OUTPUT: Partial<Record<SourceFormat, VariantOutput['format']>> = {
  jpeg: 'jpeg',
  png: 'png',
  webp: 'webp',
};

/**
 * Applies the rule to every variant of one image. Variants are grouped by
 * format, role and animation; within a group, from the widest down, each
 * width is kept only when it is smaller than the file that serves the next
 * wider width. Returns one entry per input variant, same order.
 */
export function applyNeverLarger(
  variants: readonly VariantOutput[],
  original: OriginalFacts,
): ManifestEntry[] {
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
        const originalServes =
          !original.animated &&
          !variant.animated &&
          variant.role === 'image' &&
          original.webCopy !== undefined &&
          SOURCE_AS_OUTPUT[original.format] === variant.format &&
          original.width === variant.width &&
          original.height === variant.height &&
          original.webCopy.length <= variant.data.length;
        if (originalServes && original.webCopy) {
          const data = original.webCopy;
          entries.set(variant, { variant: { ...variant, data }, reuse: 'original' });
          served = { suffix: variant.suffix, bytes: data.length };
        } else {
          entries.set(variant, { variant });
          served = { suffix: variant.suffix, bytes: variant.data.length };
        }
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
