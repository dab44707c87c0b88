/**
 * The Gaussian blur SSIMULACRA 2 applies to each plane: σ 1.5, radius 5,
 * separable, weights renormalised at the borders (see `ssimulacra2.ts`).
 */

/** Gaussian σ 1.5, radius 5 (libjxl's recursive filter covers the same support). */
const RADIUS = 5;
const KERNEL = (() => {
  const k = Float64Array.from({ length: 2 * RADIUS + 1 }, (_, i) =>
    Math.exp(-((i - RADIUS) ** 2) / (2 * 1.5 * 1.5)),
  );
  const sum = k.reduce((a, b) => a + b, 0);
  return k.map((v) => v / sum);
})();
/** The kernel from its centre outwards: [k(0), k(±1), …, k(±5)]. */
const HALF = Array.from({ length: RADIUS + 1 }, (_, i) => KERNEL[RADIUS + i] as number) as [
  number,
  number,
  number,
  number,
  number,
  number,
];

/** Separable Gaussian blur of one plane; `tmp` is scratch of the same size. */
export function blur(
  src: Float32Array,
  w: number,
  h: number,
  tmp: Float32Array,
  out: Float32Array,
): void {
  const r = RADIUS;
  const [k0, k1, k2, k3, k4, k5] = HALF;
  // Horizontal: the borders renormalised, the interior unrolled (symmetric kernel).
  for (let y = 0; y < h; y++) {
    const row = y * w;
    const edge = Math.min(r, w);
    for (let x = 0; x < edge; x++) tmp[row + x] = edgeTap(src, row, x, w);
    for (let x = Math.max(edge, w - r); x < w; x++) tmp[row + x] = edgeTap(src, row, x, w);
    const end = row + w - r;
    if (end <= row + r) continue;
    // A window of eleven samples slides along the row: one load per output.
    let a = s(src, row);
    let b = s(src, row + 1);
    let c = s(src, row + 2);
    let d = s(src, row + 3);
    let e = s(src, row + 4);
    let f = s(src, row + 5);
    let g = s(src, row + 6);
    let hh = s(src, row + 7);
    let ii = s(src, row + 8);
    let j = s(src, row + 9);
    for (let i = row + r; i < end; i++) {
      const k = s(src, i + 5);
      tmp[i] = k0 * f + k1 * (e + g) + k2 * (d + hh) + k3 * (c + ii) + k4 * (b + j) + k5 * (a + k);
      a = b;
      b = c;
      c = d;
      d = e;
      e = f;
      f = g;
      g = hh;
      hh = ii;
      ii = j;
      j = k;
    }
  }
  // Vertical: per output row, the weighted rows it covers.
  const [w2, w3, w4, w5] = [2 * w, 3 * w, 4 * w, 5 * w];
  for (let y = 0; y < h; y++) {
    const from = Math.max(0, y - r);
    const to = Math.min(h - 1, y + r);
    const row = y * w;
    if (to - from === 2 * r) {
      for (let i = row, end = row + w; i < end; i++) {
        out[i] =
          k0 * s(tmp, i) +
          k1 * (s(tmp, i - w) + s(tmp, i + w)) +
          k2 * (s(tmp, i - w2) + s(tmp, i + w2)) +
          k3 * (s(tmp, i - w3) + s(tmp, i + w3)) +
          k4 * (s(tmp, i - w4) + s(tmp, i + w4)) +
          k5 * (s(tmp, i - w5) + s(tmp, i + w5));
      }
      continue;
    }
    let norm = 0;
    for (let j = from; j <= to; j++) norm += KERNEL[j - y + r] as number;
    out.fill(0, row, row + w);
    for (let j = from; j <= to; j++) {
      const k = (KERNEL[j - y + r] as number) / norm;
      const srcRow = j * w;
      for (let x = 0; x < w; x++) out[row + x] = s(out, row + x) + s(tmp, srcRow + x) * k;
    }
  }
}

/** One horizontal output near a border: the taps inside the row, renormalised. */
function edgeTap(src: Float32Array, row: number, x: number, w: number): number {
  let sum = 0;
  let norm = 0;
  for (let j = Math.max(0, x - RADIUS); j <= Math.min(w - 1, x + RADIUS); j++) {
    const k = KERNEL[j - x + RADIUS] as number;
    sum += (src[row + j] as number) * k;
    norm += k;
  }
  return sum / norm;
}

/** Reads a typed-array element the bounds of which the caller has checked. */
function s(a: Float32Array, i: number): number {
  return a[i] as number;
}
