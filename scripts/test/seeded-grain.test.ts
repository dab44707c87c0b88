/** tools/seeded-grain.ts: the benchmarks' grain is the same for a seed, Gaussian as asked. */
import { seededGrain } from '@slideshow/tools/seeded-grain';
import { describe, expect, it } from 'vitest';

function meanAndDeviation(bytes: Uint8Array): { mean: number; deviation: number } {
  let sum = 0;
  let squares = 0;
  for (const v of bytes) {
    sum += v;
    squares += v * v;
  }
  const mean = sum / bytes.length;
  return { mean, deviation: Math.sqrt(squares / bytes.length - mean * mean) };
}

describe('seededGrain', () => {
  it('gives the same bytes for a seed and other bytes for another seed', () => {
    const first = seededGrain(300, 200, 10, 7);
    expect(first).toHaveLength(300 * 200 * 3);
    expect(seededGrain(300, 200, 10, 7).equals(first)).toBe(true);
    expect(seededGrain(300, 200, 10, 8).equals(first)).toBe(false);
  });

  it('is centred on mid-grey with the standard deviation asked for', () => {
    for (const sigma of [6, 12, 24]) {
      const { mean, deviation } = meanAndDeviation(seededGrain(500, 400, sigma));
      expect(Math.abs(mean - 128), `sigma ${sigma}`).toBeLessThan(0.5);
      expect(Math.abs(deviation - sigma), `sigma ${sigma}`).toBeLessThan(0.3);
    }
  });

  it('fills an odd number of bytes', () => {
    const grain = seededGrain(1, 1, 10);
    expect(grain).toHaveLength(3);
    expect([...grain].every((v) => v > 0 && v < 255)).toBe(true);
  });
});
