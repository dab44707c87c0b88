/**
 * A block SSIM on luma (8×8 non-overlapping windows, the constants of Wang et
 * al. 2004) between a decoded variant and a reference of the same size.
 * Cheaper than a Gaussian-window SSIM and good enough to rank encoders.
 */
import sharp from 'sharp';

/** Decodes any image (or raw) to 8-bit luma at exactly width × height. */
export async function luma(
  input: Buffer,
  width: number,
  height: number,
  raw?: { width: number; height: number; channels: 1 | 2 | 3 | 4 },
): Promise<Buffer> {
  return sharp(input, raw ? { raw } : {})
    .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
    .flatten({ background: '#ffffff' })
    .greyscale()
    .raw()
    .toBuffer();
}

/** Mean SSIM of two same-size luma buffers. */
export function ssim(a: Buffer, b: Buffer, width: number, height: number): number {
  const c1 = (0.01 * 255) ** 2;
  const c2 = (0.03 * 255) ** 2;
  const block = 8;
  let total = 0;
  let count = 0;
  for (let y = 0; y + block <= height; y += block) {
    for (let x = 0; x + block <= width; x += block) {
      let sa = 0;
      let sb = 0;
      let saa = 0;
      let sbb = 0;
      let sab = 0;
      for (let j = 0; j < block; j++) {
        const row = (y + j) * width + x;
        for (let i = 0; i < block; i++) {
          const va = a[row + i] ?? 0;
          const vb = b[row + i] ?? 0;
          sa += va;
          sb += vb;
          saa += va * va;
          sbb += vb * vb;
          sab += va * vb;
        }
      }
      const n = block * block;
      const ma = sa / n;
      const mb = sb / n;
      const va = saa / n - ma * ma;
      const vb = sbb / n - mb * mb;
      const cov = sab / n - ma * mb;
      total += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
      count++;
    }
  }
  return count === 0 ? 1 : total / count;
}
