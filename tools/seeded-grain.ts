/**
 * Sensor-like grain for the benchmarks' generated photos: raw 8-bit RGB,
 * Gaussian around mid-grey, from a seeded generator. libvips' own noise
 * (`sharp({ create: { noise } })`) takes a new random seed on every call, so
 * a corpus made with it differed from one `npm run bench` to the next (the
 * rotated 12 MP photo's bytes and scores moved between runs); the same seed
 * here gives the same pixels on every run and machine.
 */

/** mulberry32: a small 32-bit generator, uniform in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draws in the table the grain's bytes are picked from (16-bit indices). */
const TABLE_SIZE = 65_536;

/**
 * `width` × `height` × 3 bytes of Gaussian noise (mean 128, standard
 * deviation `sigma`, clamped to 0–255), for
 * `composite(..., { raw: { width, height, channels: 3 }, blend: 'overlay' })`.
 * The bytes are picked by a seeded generator from a table of 65,536 Box–Muller
 * draws (two 16-bit picks per 32-bit number): the same distribution as a
 * draw per byte, ~10× faster in JavaScript (a 50 MP image in under a second).
 */
export function seededGrain(width: number, height: number, sigma: number, seed = 1): Buffer {
  const random = mulberry32(seed);
  const table = new Uint8Array(TABLE_SIZE);
  for (let i = 0; i < TABLE_SIZE; i += 2) {
    // 1 - u keeps the logarithm finite (u is in [0, 1)).
    const radius = sigma * Math.sqrt(-2 * Math.log(1 - random()));
    const angle = 2 * Math.PI * random();
    table[i] = clampByte(128 + radius * Math.cos(angle));
    table[i + 1] = clampByte(128 + radius * Math.sin(angle));
  }
  const out = Buffer.allocUnsafe(width * height * 3);
  for (let i = 0; i < out.length; i += 2) {
    const bits = (random() * 4294967296) >>> 0;
    out[i] = table[bits >>> 16] ?? 128;
    if (i + 1 < out.length) out[i + 1] = table[bits & 0xffff] ?? 128;
  }
  return out;
}

function clampByte(value: number): number {
  return value < 0 ? 0 : value > 255 ? 255 : Math.round(value);
}
