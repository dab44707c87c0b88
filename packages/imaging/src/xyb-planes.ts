/**
 * SSIMULACRA 2's colour side: 8-bit sRGB to linear planes (alpha blended
 * onto 0.5 grey), the 2×2 box downsample between scales, and linear RGB to
 * the rescaled XYB the metric compares (see `ssimulacra2.ts`).
 */

/** 8-bit sRGB pixels, 3 (RGB) or 4 (RGBA) interleaved channels. */
export interface SrgbImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3 | 4;
}

// JPEG XL opsin absorbance matrix and bias (libjxl lib/jxl/cms/opsin_params.h).
const M00 = 0.3;
const M02 = 0.078;
const M01 = 1 - M02 - M00;
const M10 = 0.23;
const M12 = 0.078;
const M11 = 1 - M12 - M10;
const M20 = 0.24342268924547819;
const M21 = 0.20476744424496821;
const M22 = 1 - M20 - M21;
const BIAS = 0.0037930732552754493;
const CBRT_BIAS = Math.cbrt(BIAS);

/** sRGB transfer function (IEC 61966-2-1) as a table over 8-bit codes. */
const SRGB_TO_LINEAR = Float32Array.from({ length: 256 }, (_, i) => {
  const v = i / 255;
  return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
});

/** Three planes of one size. */
export interface Planes {
  width: number;
  height: number;
  c: [Float32Array, Float32Array, Float32Array];
}

function planes(width: number, height: number): Planes {
  const n = width * height;
  return { width, height, c: [new Float32Array(n), new Float32Array(n), new Float32Array(n)] };
}

/**
 * An 8-bit code blended onto 0.5 grey by an 8-bit alpha, then linearised, by
 * index `alpha * 256 + code`: the same float32 values as computing each pixel,
 * without three powers per pixel (built on the first RGBA image).
 */
let blendedToLinear: Float32Array | undefined;

function blendTable(): Float32Array {
  if (blendedToLinear) return blendedToLinear;
  const table = new Float32Array(256 * 256);
  for (let alpha = 0; alpha < 256; alpha++) {
    const a = alpha / 255;
    for (let code = 0; code < 256; code++) {
      table[alpha * 256 + code] = srgbFloatToLinear((code / 255) * a + 0.5 * (1 - a));
    }
  }
  blendedToLinear = table;
  return table;
}

/** Linear RGB planes; RGBA is blended onto 0.5 grey in sRGB-encoded values, as the reference does. */
export function toLinear(image: SrgbImage): Planes {
  const { width, height, channels, data } = image;
  const out = planes(width, height);
  const [r, g, b] = out.c;
  const blended = channels === 4 ? blendTable() : undefined;
  for (let i = 0, p = 0; i < width * height; i++, p += channels) {
    if (blended) {
      const row = (data[p + 3] ?? 255) * 256;
      r[i] = blended[row + (data[p] ?? 0)] ?? 0;
      g[i] = blended[row + (data[p + 1] ?? 0)] ?? 0;
      b[i] = blended[row + (data[p + 2] ?? 0)] ?? 0;
    } else {
      r[i] = SRGB_TO_LINEAR[data[p] ?? 0] ?? 0;
      g[i] = SRGB_TO_LINEAR[data[p + 1] ?? 0] ?? 0;
      b[i] = SRGB_TO_LINEAR[data[p + 2] ?? 0] ?? 0;
    }
  }
  return out;
}

function srgbFloatToLinear(v: number): number {
  return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
}

/** 2×2 box average, edge pixels repeated for odd sizes. */
export function downsample(src: Planes): Planes {
  const w = Math.ceil(src.width / 2);
  const h = Math.ceil(src.height / 2);
  const out = planes(w, h);
  for (let c = 0; c < 3; c++) {
    const s = src.c[c] as Float32Array;
    const o = out.c[c] as Float32Array;
    for (let y = 0; y < h; y++) {
      const y0 = 2 * y * src.width;
      const y1 = Math.min(2 * y + 1, src.height - 1) * src.width;
      for (let x = 0; x < w; x++) {
        const x0 = 2 * x;
        const x1 = Math.min(2 * x + 1, src.width - 1);
        o[y * w + x] =
          ((s[y0 + x0] as number) +
            (s[y0 + x1] as number) +
            (s[y1 + x0] as number) +
            (s[y1 + x1] as number)) *
          0.25;
      }
    }
  }
  return out;
}

/** Linear RGB → XYB, rescaled as the metric does (X·14 + 0.42, Y + 0.01, B − Y + 0.55). */
export function toPositiveXyb(lin: Planes): Planes {
  const out = planes(lin.width, lin.height);
  const [r, g, b] = lin.c;
  const [ox, oy, ob] = out.c;
  for (let i = 0; i < r.length; i++) {
    const ri = r[i] as number;
    const gi = g[i] as number;
    const bi = b[i] as number;
    const l = Math.cbrt(Math.max(0, M00 * ri + M01 * gi + M02 * bi + BIAS)) - CBRT_BIAS;
    const m = Math.cbrt(Math.max(0, M10 * ri + M11 * gi + M12 * bi + BIAS)) - CBRT_BIAS;
    const s = Math.cbrt(Math.max(0, M20 * ri + M21 * gi + M22 * bi + BIAS)) - CBRT_BIAS;
    const x = 0.5 * (l - m);
    const y = 0.5 * (l + m);
    ox[i] = x * 14 + 0.42;
    oy[i] = y + 0.01;
    ob[i] = s - y + 0.55;
  }
  return out;
}
