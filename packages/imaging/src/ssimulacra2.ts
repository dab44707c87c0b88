/**
 * SSIMULACRA 2 (Jon Sneyers, Cloudinary, 2022; revised April 2023), written
 * here from its published description in libjxl's `tools/ssimulacra2.cc`:
 * a perceptual score where 100 is identical, ~90 visually lossless, ~70 high
 * quality, ~50 medium, and lower is worse.
 *
 * Steps (per that description): both images to linear sRGB (alpha blended
 * onto 0.5 grey first); six scales, each a 2×2 box downsample in linear RGB
 * of the previous; per scale, linear RGB → XYB (the JPEG XL opsin absorbance
 * matrix and bias, cube root) rescaled to ~0..1 with B−Y; Gaussian blurs
 * (σ 1.5) of the two images, their squares and product; three error maps per
 * channel — 1 − SSIM' (SSIM without the luminance denominator), "ringing"
 * (distorted has edges where the original is smooth) and "blurring" (the
 * reverse) — each reduced to its 1-norm and 4-norm; the 108 numbers weighted
 * and mapped to the final score by the published polynomial.
 *
 * One deliberate difference: libjxl blurs with a recursive (IIR)
 * approximation of the Gaussian; this uses the exact separable Gaussian
 * (radius 5, weights renormalised at the borders), so scores can differ from
 * libjxl's tool by a little, mostly along the borders. Debian 12 packages no
 * ssimulacra2 binary to compare with; `ssimulacra2.test.ts` checks the
 * properties the metric is defined by (identical = 100, monotonic in the
 * amount of compression, alpha blended onto grey) and the bench reports
 * butteraugli (libjxl-devtools) beside it when that tool is installed.
 */

import { blur } from './gaussian-blur.ts';
import { downsample, type Planes, type SrgbImage, toLinear, toPositiveXyb } from './xyb-planes.ts';

export type { SrgbImage } from './xyb-planes.ts';

const NUM_SCALES = 6;
const C2 = 0.0009;

// The 108 weights of the April 2023 revision, in the order channel (X, Y, B) →
// scale (1:1 … 1:32) → norm (1, 4) → map (SSIM', ringing, blurring).
// biome-ignore format: a table of published constants
const WEIGHTS: readonly number[] = [
  0.0, 0.0007376606707406586, 0.0, 0.0, 0.0007793481682867309, 0.0, 0.0, 0.0004371155730107379,
  0.0, 1.1041726426657346, 0.00066284834129271, 0.00015231632783718752, 0.0, 0.0016406437456599754,
  0.0, 1.8422455520539298, 11.441172603757666, 0.0, 0.0007989109436015163, 0.000176816438078653,
  0.0, 1.8787594979546387, 10.94906990605142, 0.0, 0.0007289346991508072, 0.9677937080626833, 0.0,
  0.00014003424285435884, 0.9981766977854967, 0.00031949755934435053, 0.0004550992113792063, 0.0,
  0.0, 0.0013648766163243398, 0.0, 0.0, 0.0, 0.0, 0.0, 7.466890328078848, 0.0, 17.445833984131262,
  0.0006235601634041466, 0.0, 0.0, 6.683678146179332, 0.00037724407979611296, 1.027889937768264,
  225.20515300849274, 0.0, 0.0, 19.213238186143016, 0.0011401524586618361, 0.001237755635509985,
  176.39317598450694, 0.0, 0.0, 24.43300999870476, 0.28520802612117757, 0.0004485436923833408, 0.0,
  0.0, 0.0, 34.77906344483772, 44.835625328877896, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
  0.0008680556573291698, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0005313191874358747, 0.0, 0.00016533814161379112,
  0.0, 0.0, 0.0, 0.0, 0.0, 0.0004179171803251336, 0.0017290828234722833, 0.0, 0.0020827005846636437,
  0.0, 0.0, 8.826982764996862, 23.19243343998926, 0.0, 95.1080498811086, 0.9863978034400682,
  0.9834382792465353, 0.0012286405048278493, 171.2667255897307, 0.9807858872435379, 0.0, 0.0, 0.0,
  0.0005130064588990679, 0.0, 0.00010854057858411537,
];

/**
 * Which error maps of each channel and scale carry weight, by index
 * `c * NUM_SCALES + scale`: SSIM' needs the blurs of the squares and the
 * product, ringing and blurring only the means. Maps whose weights are all
 * zero are not computed (at full resolution X and B have no SSIM' weight,
 * and Y none at 1:32): their terms add exactly 0 to the sum either way, so
 * the score is unchanged and a comparison costs about a third less.
 */
const WEIGHTED = Array.from({ length: 3 * NUM_SCALES }, (_, i) => {
  const w = (norm: number, map: number): number => WEIGHTS[i * 6 + norm * 3 + map] ?? 0;
  return {
    ssim: w(0, 0) !== 0 || w(1, 0) !== 0,
    edges: w(0, 1) !== 0 || w(1, 1) !== 0 || w(0, 2) !== 0 || w(1, 2) !== 0,
  };
});

/**
 * The reference side of one scale: its XYB planes, their blurs and the blurs
 * of their squares (each only where a weighted map needs it).
 */
interface ScaleReference {
  xyb: Planes;
  mu: (Float32Array | undefined)[];
  sigma: (Float32Array | undefined)[];
}

/**
 * A reference image prepared once (its pyramid, XYB planes and blurs), so
 * that scoring several encodings of it costs only their own side.
 */
export interface Ssimulacra2Reference {
  width: number;
  height: number;
  scales: ScaleReference[];
}

function squareBlur(p: Float32Array, w: number, h: number, tmp: Float32Array): Float32Array {
  const prod = new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) prod[i] = (p[i] as number) * (p[i] as number);
  const out = new Float32Array(p.length);
  blur(prod, w, h, tmp, out);
  return out;
}

function blurred(p: Float32Array, w: number, h: number, tmp: Float32Array): Float32Array {
  const out = new Float32Array(p.length);
  blur(p, w, h, tmp, out);
  return out;
}

/** Each scale's linear-RGB image, 1:1 down to 1:32 or until a side is under 8 pixels. */
function pyramid(image: SrgbImage): Planes[] {
  const levels: Planes[] = [];
  let lin = toLinear(image);
  for (let scale = 0; scale < NUM_SCALES; scale++) {
    if (lin.width < 8 || lin.height < 8) break;
    if (scale > 0) lin = downsample(lin);
    levels.push(lin);
  }
  return levels;
}

/** Prepares `reference` for {@link compareToReference}. */
export function prepareReference(reference: SrgbImage): Ssimulacra2Reference {
  const scales = pyramid(reference).map((lin, scale): ScaleReference => {
    const xyb = toPositiveXyb(lin);
    const tmp = new Float32Array(lin.width * lin.height);
    const weighted = (c: number) => WEIGHTED[c * NUM_SCALES + scale];
    return {
      xyb,
      mu: xyb.c.map((p, c) =>
        weighted(c)?.ssim || weighted(c)?.edges
          ? blurred(p, lin.width, lin.height, tmp)
          : undefined,
      ),
      sigma: xyb.c.map((p, c) =>
        weighted(c)?.ssim ? squareBlur(p, lin.width, lin.height, tmp) : undefined,
      ),
    };
  });
  return { width: reference.width, height: reference.height, scales };
}

/**
 * Scratch planes of the distorted side, kept between comparisons (every one
 * is written in full before it is read; a comparison runs synchronously, so
 * nothing else uses them meanwhile): several comparisons of one probe then
 * allocate, and collect, five planes less per scale.
 */
let scratch: Float32Array[] = [];

function scratchPlanes(
  n: number,
): [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array] {
  if ((scratch[0]?.length ?? 0) < n) scratch = Array.from({ length: 5 }, () => new Float32Array(n));
  const [a, b, c, d, e] = scratch.map((plane) => plane.subarray(0, n));
  return [a, b, c, d, e] as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
}

/** The 18 numbers of one scale: per channel [ssim1, ssim4, ring1, ring4, blur1, blur4]. */
function scaleFeatures(ref: ScaleReference, b: Planes, scale: number): number[] {
  const { width: w, height: h } = b;
  const n = w * h;
  const [tmp, prod, mu2, s22, s12] = scratchPlanes(n);
  const features: number[] = [];
  for (let c = 0; c < 3; c++) {
    const weighted = WEIGHTED[c * NUM_SCALES + scale];
    const p1 = ref.xyb.c[c] as Float32Array;
    const mu1 = ref.mu[c];
    const p2 = b.c[c] as Float32Array;
    if (!mu1 || !weighted) {
      // No weighted map: its six terms are 0 × anything.
      features.push(0, 0, 0, 0, 0, 0);
      continue;
    }
    blur(p2, w, h, tmp, mu2);
    const s11 = ref.sigma[c];
    if (!s11) {
      features.push(0, 0, ...edgeFeatures(p1, mu1, p2, mu2));
      continue;
    }
    for (let i = 0; i < n; i++) prod[i] = (p2[i] as number) * (p2[i] as number);
    blur(prod, w, h, tmp, s22);
    for (let i = 0; i < n; i++) prod[i] = (p1[i] as number) * (p2[i] as number);
    blur(prod, w, h, tmp, s12);
    let ssim1 = 0;
    let ssim4 = 0;
    let ring1 = 0;
    let ring4 = 0;
    let blur1 = 0;
    let blur4 = 0;
    for (let i = 0; i < n; i++) {
      const m1 = mu1[i] as number;
      const m2 = mu2[i] as number;
      const numM = 1 - (m1 - m2) * (m1 - m2);
      const numS = 2 * ((s12[i] as number) - m1 * m2) + C2;
      const denS = (s11[i] as number) - m1 * m1 + ((s22[i] as number) - m2 * m2) + C2;
      const d = Math.max(0, 1 - (numM * numS) / denS);
      ssim1 += d;
      ssim4 += d * d * d * d;
      const e = (1 + Math.abs((p2[i] as number) - m2)) / (1 + Math.abs((p1[i] as number) - m1)) - 1;
      if (e > 0) {
        ring1 += e;
        ring4 += e * e * e * e;
      } else {
        blur1 -= e;
        blur4 += e * e * e * e;
      }
    }
    features.push(
      ssim1 / n,
      Math.sqrt(Math.sqrt(ssim4 / n)),
      ring1 / n,
      Math.sqrt(Math.sqrt(ring4 / n)),
      blur1 / n,
      Math.sqrt(Math.sqrt(blur4 / n)),
    );
  }
  return features;
}

/** Ringing and blurring features alone, [ring1, ring4, blur1, blur4], for maps without SSIM' weight. */
function edgeFeatures(
  p1: Float32Array,
  mu1: Float32Array,
  p2: Float32Array,
  mu2: Float32Array,
): [number, number, number, number] {
  const n = p1.length;
  let ring1 = 0;
  let ring4 = 0;
  let blur1 = 0;
  let blur4 = 0;
  for (let i = 0; i < n; i++) {
    const e =
      (1 + Math.abs((p2[i] as number) - (mu2[i] as number))) /
        (1 + Math.abs((p1[i] as number) - (mu1[i] as number))) -
      1;
    if (e > 0) {
      ring1 += e;
      ring4 += e * e * e * e;
    } else {
      blur1 -= e;
      blur4 += e * e * e * e;
    }
  }
  return [ring1 / n, Math.sqrt(Math.sqrt(ring4 / n)), blur1 / n, Math.sqrt(Math.sqrt(blur4 / n))];
}

/**
 * SSIMULACRA 2 score of `distorted` against a prepared reference (same size;
 * 100 = identical). Throws a TypeError when the sizes differ.
 */
export function compareToReference(reference: Ssimulacra2Reference, distorted: SrgbImage): number {
  if (reference.width !== distorted.width || reference.height !== distorted.height) {
    throw new TypeError(
      `Expected an image of ${reference.width}x${reference.height} for distorted but received ${distorted.width}x${distorted.height}`,
    );
  }
  const perScale = pyramid(distorted).map((lin, scale) =>
    scaleFeatures(reference.scales[scale] as ScaleReference, toPositiveXyb(lin), scale),
  );
  let sum = 0;
  let i = 0;
  for (let c = 0; c < 3; c++) {
    for (let scale = 0; scale < NUM_SCALES; scale++) {
      const f = perScale[scale];
      for (let norm = 0; norm < 2; norm++) {
        // Scales the image was too small for contribute nothing, as in the reference.
        const ssim = f ? (f[c * 6 + norm] as number) : 0;
        const ring = f ? (f[c * 6 + 2 + norm] as number) : 0;
        const blurred = f ? (f[c * 6 + 4 + norm] as number) : 0;
        sum += (WEIGHTS[i++] as number) * Math.abs(ssim);
        sum += (WEIGHTS[i++] as number) * Math.abs(ring);
        sum += (WEIGHTS[i++] as number) * Math.abs(blurred);
      }
    }
  }
  let score = sum * 0.9562382616834844;
  score =
    2.326765642916932 * score -
    0.020884521182843837 * score * score +
    6.248496625763138e-5 * score * score * score;
  return score > 0 ? 100 - 10 * score ** 0.6276336467831387 : 100;
}

/** SSIMULACRA 2 score of `distorted` against `reference` (same size; 100 = identical). */
export function ssimulacra2(reference: SrgbImage, distorted: SrgbImage): number {
  return compareToReference(prepareReference(reference), distorted);
}
