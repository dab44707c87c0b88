/**
 * Which measurements a regeneration's estimate stands on (estimate.ts): the
 * line of CPU per image and per megapixel (cpu-fit.ts) fitted over this
 * preset version's measured images, else over the other versions' (borrowed,
 * so widened), else over the documented bench images; and a sentence saying
 * which, for the dry run's answer.
 */
import type { CostMoments } from '../db/regen-repository.ts';
import {
  type CpuLine,
  DOCUMENTED_MOMENTS,
  fitLine,
  MIN_LEVEL_IMAGES,
  meansOf,
  scaledTo,
} from './cpu-fit.ts';

/**
 * How much more (or less) one preset version may cost than another on the
 * same image, when the figures are borrowed: web-v1 against web-v3 per image,
 * 0.88–2.1× in docs/performance.md ("Images: web-v3 (the default) against
 * web-v1") and up to 2.5× in the measurement of docs/operations.md
 * ("Presets and regeneration").
 */
export const VERSION_SPREAD = 2.5;

/** Below this many measured images, the note says the figures stand on few. */
export const FEW_IMAGES = 10;

/** Whose measurements the figures came from. */
export type CostBasis = 'this preset version' | 'other preset versions' | 'documented figure';

/** The line an estimate uses and the measurements behind it. */
export interface CostModel {
  basis: CostBasis;
  /** The measured images' sums (the documented images' for the documented figure). */
  moments: CostMoments;
  line: CpuLine;
  /** True when `line` was fitted over `moments`; false when only their mean set its level. */
  fitted: boolean;
  /** 1 for this version's own figures, else {@link VERSION_SPREAD}. */
  versionSpread: number;
  /** How the figures were made, in a sentence. */
  note: string;
}

/** A line fitted elsewhere, whose split between per-image and per-megapixel CPU a level borrows. */
interface Shape {
  line: CpuLine;
  from: string;
}

/** The documented line: the bench images (they always fit one). */
function documentedShape(): Shape {
  const line = fitLine(DOCUMENTED_MOMENTS);
  if (!line) throw new Error('the documented images fit no line');
  return { line, from: 'the bench images of docs/performance.md' };
}

/** The other versions' line, else the documented one. */
function shapeElsewhere(others: CostMoments): Shape {
  const line = fitLine(others);
  return line ? { line, from: 'other preset versions' } : documentedShape();
}

/**
 * The model over the sums `m` of `whose` images: their own line, else `shape`
 * scaled to their mean (too few images, or sizes too alike, to fit one).
 */
function modelOver(basis: CostBasis, m: CostMoments, whose: string, shape: () => Shape): CostModel {
  const fitted = fitLine(m);
  const mp = meansOf(m).megapixels.toFixed(1);
  let line: CpuLine;
  let how: string;
  if (fitted) {
    line = fitted;
    how = `least squares over ${m.n} images of ${whose} (mean ${mp} MP)`;
  } else {
    const borrowed = shape();
    line = scaledTo(m, borrowed.line);
    how = `the mean of ${m.n} images of ${whose} (mean ${mp} MP; too few or too alike in size to fit a line), split into per-image and per-megapixel CPU as the line of ${borrowed.from}`;
  }
  if (m.n < FEW_IMAGES) how += `; few images, so the range is wide`;
  const own = basis === 'this preset version';
  return {
    basis,
    moments: m,
    line,
    fitted: fitted !== undefined,
    versionSpread: own ? 1 : VERSION_SPREAD,
    note: own
      ? how
      : `${how}; this version may cost 1/${VERSION_SPREAD} to ${VERSION_SPREAD}× as much`,
  };
}

/**
 * Whether sums can set a level: at least {@link MIN_LEVEL_IMAGES} images, of
 * some size. Sums of 0 MP only (no size known) would scale a borrowed line by
 * their CPU over a mean of 0 MP, to millions of CPU-s per image.
 */
function measured(m: CostMoments): boolean {
  return m.n >= MIN_LEVEL_IMAGES && m.sx > 0;
}

/**
 * The model for a version from the measured sums: this version's when they
 * are {@link measured}, else the other versions', else the documented bench
 * images.
 */
export function costModel(moments: { own: CostMoments; others: CostMoments }): CostModel {
  const { own, others } = moments;
  if (measured(own)) {
    return modelOver('this preset version', own, 'this version', () => shapeElsewhere(others));
  }
  if (measured(others)) {
    return modelOver('other preset versions', others, 'other preset versions', documentedShape);
  }
  return modelOver('documented figure', DOCUMENTED_MOMENTS, 'the bench', documentedShape);
}
