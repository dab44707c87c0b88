/**
 * An image's CPU as a fixed part plus a part per source megapixel, fitted by
 * least squares over a preset version's measured images (the sums of
 * migration 024, db/regen-repository.ts `costMoments`). The fixed part is
 * what a per-megapixel rate alone misses on small images: decoding, the
 * placeholder and one encode per variant cost something whatever the size,
 * and above the widest variant the variants stop growing with the source.
 * Pure arithmetic; the estimate (estimate.ts) chooses which sums to fit.
 */
import type { CostMoments } from '../db/regen-repository.ts';

/** CPU seconds of one image = `fixed` + `perMegapixel` × its source megapixels. */
export interface CpuLine {
  fixed: number;
  perMegapixel: number;
}

/** Fewest images whose spread (below) can say how CPU grows with size. */
export const MIN_LINE_IMAGES = 3;
/** Fewest images whose mean and spread say anything (one image has no spread). */
export const MIN_LEVEL_IMAGES = 2;
/** Least spread of sizes (standard deviation / mean) a line is fitted over. */
export const MIN_SIZE_SPREAD = 0.1;

/**
 * The seven images of docs/performance.md, "Images: web-v3 (the default)
 * against web-v1" (run H): source megapixels and web-v3's CPU seconds. Their
 * line, 0.40 CPU-s per image + 0.363 CPU-s per megapixel, is the documented
 * figure when nothing was measured.
 */
const DOCUMENTED_IMAGES: readonly (readonly [number, number])[] = [
  [12.0, 2.34],
  [12.0, 9.58],
  [2.2, 0.71],
  [2.2, 1.08],
  [1.6, 0.8],
  [2.2, 1.98],
  [12.0, 2.33],
];

/** The sums over `points` ([megapixels, CPU seconds] each). */
export function momentsOf(points: readonly (readonly [number, number])[]): CostMoments {
  const m = { n: 0, sx: 0, sy: 0, sxx: 0, sxy: 0, syy: 0 };
  for (const [x, y] of points) {
    m.n++;
    m.sx += x;
    m.sy += y;
    m.sxx += x * x;
    m.sxy += x * y;
    m.syy += y * y;
  }
  return m;
}

/** The documented images' sums (see {@link DOCUMENTED_IMAGES}). */
export const DOCUMENTED_MOMENTS: CostMoments = momentsOf(DOCUMENTED_IMAGES);

/** Mean size and mean CPU of the images behind `m`. */
export function meansOf(m: CostMoments): { megapixels: number; cpuSeconds: number } {
  return { megapixels: m.sx / m.n, cpuSeconds: m.sy / m.n };
}

/** Σ(x − x̄)², the spread of sizes the slope is read from. */
function centredSxx(m: CostMoments): number {
  return Math.max(0, m.sxx - (m.sx * m.sx) / m.n);
}

/**
 * The least-squares line through `m`, or undefined when the images are too few
 * or too alike in size to tell a fixed part from a per-megapixel one. Neither
 * part is negative: a negative fixed part gives the best line through the
 * origin, a negative slope the mean as a fixed part.
 */
export function fitLine(m: CostMoments): CpuLine | undefined {
  if (m.n < MIN_LINE_IMAGES) return undefined;
  const sxx = centredSxx(m);
  const mean = meansOf(m);
  if (sxx <= 0 || Math.sqrt(sxx / m.n) < MIN_SIZE_SPREAD * mean.megapixels) return undefined;
  const slope = (m.sxy - (m.sx * m.sy) / m.n) / sxx;
  if (slope < 0) return { fixed: mean.cpuSeconds, perMegapixel: 0 };
  const fixed = mean.cpuSeconds - slope * mean.megapixels;
  if (fixed < 0) return { fixed: 0, perMegapixel: m.sxy / m.sxx };
  return { fixed, perMegapixel: slope };
}

/** `shape` scaled so that it passes through the mean of `m` (which sets the level only). */
export function scaledTo(m: CostMoments, shape: CpuLine): CpuLine {
  const mean = meansOf(m);
  const atMean = shape.fixed + shape.perMegapixel * mean.megapixels;
  const k = atMean > 0 ? mean.cpuSeconds / atMean : 0;
  return { fixed: k * shape.fixed, perMegapixel: k * shape.perMegapixel };
}

/**
 * The standard deviation of one image's CPU around `line` over `m` (CPU
 * seconds) and its degrees of freedom: n − 2 for a line fitted over `m`,
 * n − 1 for a level.
 */
export function scatterOf(
  m: CostMoments,
  line: CpuLine,
  fitted: boolean,
): { sd: number; df: number } {
  const { fixed: a, perMegapixel: b } = line;
  // Σ(y − a − bx)² expanded over the sums.
  const sse = m.syy - 2 * a * m.sy - 2 * b * m.sxy + m.n * a * a + 2 * a * b * m.sx + b * b * m.sxx;
  const df = m.n - (fitted ? 2 : 1);
  if (df < 1) return { sd: 0, df: 0 };
  return { sd: Math.sqrt(Math.max(0, sse) / df), df };
}

/** What the range needs of a selection: its count, its megapixels, and its sizes against a mean x̄. */
export interface SelectionSizes {
  images: number;
  megapixels: number;
  /** Σ min(1, x / x̄) and Σ max(1, x / x̄) over the selection's sizes x. */
  smaller: number;
  larger: number;
}

/**
 * Where the selection's CPU may fall (95 %), by two bounds that both hold for
 * a line with no negative part, and are intersected:
 * - by size: CPU grows with size, but not faster (the variants stop growing
 *   at the widest one; measured in docs/operations.md, "Presets and
 *   regeneration"), so from the measured mean an image of x MP costs between
 *   ȳ·min(1, x/x̄) and ȳ·max(1, x/x̄), widened by the scatter of the mean and
 *   of the selection's own images (single images break the rule; their
 *   scatter is what widens it);
 * - for a line fitted over `m`, its prediction interval for the total
 *   (https://en.wikipedia.org/wiki/Simple_linear_regression, the variance of
 *   a + b·X over m images plus their m residuals).
 */
export function cpuInterval(
  m: CostMoments,
  fit: { line: CpuLine; fitted: boolean },
  sel: SelectionSizes,
): { low: number; high: number } {
  const mean = meansOf(m);
  const { sd, df } = scatterOf(m, fit.line, fit.fitted);
  const t = df < 1 ? 0 : t95(df);
  const spread = mean.cpuSeconds > 0 ? (t * sd) / mean.cpuSeconds : 0;
  const noise = spread * Math.sqrt(1 / m.n + 1 / Math.max(1, sel.images));
  let low = mean.cpuSeconds * sel.smaller * Math.max(0, 1 - noise);
  let high = mean.cpuSeconds * sel.larger * (1 + noise);
  if (fit.fitted) {
    const point = sel.images * fit.line.fixed + sel.megapixels * fit.line.perMegapixel;
    const off = sel.megapixels - sel.images * mean.megapixels;
    const variance = (sel.images * sel.images) / m.n + (off * off) / centredSxx(m) + sel.images;
    const half = t * sd * Math.sqrt(variance);
    // Disjoint only when a part was clamped at 0: the size bound alone then.
    if (point - half <= high && point + half >= low) {
      low = Math.max(low, point - half);
      high = Math.min(high, point + half);
    }
  }
  return { low, high };
}

/** Student's t, two-sided 95 %, for 1 to 10 degrees of freedom. */
const T95 = [12.71, 4.3, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23];

/** The 95 % two-sided t quantile for `df` degrees of freedom (≥ 1), rounded up between rows. */
export function t95(df: number): number {
  if (df <= T95.length) return T95[Math.max(1, df) - 1] ?? 12.71;
  if (df < 20) return 2.2;
  return df < 60 ? 2.09 : 2.0;
}
