/**
 * The line of CPU per image and per megapixel (src/regen/cpu-fit.ts): fitted
 * from the sums migration 024 keeps, never with a negative part, refused
 * when the sizes cannot tell the parts apart, and the range of a selection.
 */
import { describe, expect, it } from 'vitest';
import {
  cpuInterval,
  fitLine,
  meansOf,
  momentsOf,
  type SelectionSizes,
  scaledTo,
} from '../src/regen/cpu-fit.ts';

/** Points on 2 CPU-s + 0.25 CPU-s/MP at these sizes, each off by `wobble` (alternately up and down). */
const on = (mps: number[], wobble = 0) =>
  mps.map((mp, i) => [mp, (2 + 0.25 * mp) * (1 + (i % 2 === 0 ? wobble : -wobble))] as const);

/** A selection's sizes against the mean size `mean`. */
function selection(mps: number[], mean: number): SelectionSizes {
  return {
    images: mps.length,
    megapixels: mps.reduce((s, x) => s + x, 0),
    smaller: mps.reduce((s, x) => s + Math.min(1, x / mean), 0),
    larger: mps.reduce((s, x) => s + Math.max(1, x / mean), 0),
  };
}

describe('fitLine', () => {
  it('finds the fixed and the per-megapixel part of points on a line', () => {
    const line = fitLine(momentsOf(on([1, 4, 12, 24])));
    expect(line?.fixed).toBeCloseTo(2, 9);
    expect(line?.perMegapixel).toBeCloseTo(0.25, 9);
  });

  it('fits no line over fewer than three images, or sizes within 10 % of each other', () => {
    expect(fitLine(momentsOf(on([1, 24])))).toBeUndefined();
    expect(fitLine(momentsOf(on([12, 12.5, 13, 12.2, 12.8])))).toBeUndefined();
  });

  it('never gives a part below zero', () => {
    // CPU growing faster than size: through the origin instead of a negative fixed part.
    const steep = fitLine(
      momentsOf([
        [1, 0.5],
        [2, 2],
        [3, 3.5],
      ]),
    );
    expect(steep?.fixed).toBe(0);
    expect(steep?.perMegapixel).toBeCloseTo((0.5 + 4 + 10.5) / (1 + 4 + 9), 9);
    // CPU falling with size: the mean as a fixed part.
    expect(
      fitLine(
        momentsOf([
          [1, 3],
          [2, 2],
          [3, 1],
        ]),
      ),
    ).toEqual({ fixed: 2, perMegapixel: 0 });
  });
});

describe('scaledTo', () => {
  it('keeps a shape’s split and passes through the mean of the images it is scaled to', () => {
    const m = momentsOf([
      [3, 4],
      [3, 5],
    ]);
    const line = scaledTo(m, { fixed: 1, perMegapixel: 0.5 });
    expect(line.fixed / line.perMegapixel).toBeCloseTo(2, 9);
    expect(line.fixed + line.perMegapixel * 3).toBeCloseTo(meansOf(m).cpuSeconds, 9);
  });
});

describe('cpuInterval', () => {
  it('narrows to the line when the measurements lie on it', () => {
    const m = momentsOf(on([12, 16, 20, 24, 28]));
    const line = fitLine(m)!;
    const { low, high } = cpuInterval(m, { line, fitted: true }, selection([1, 1, 1], 20));
    expect(low).toBeCloseTo(3 * 2.25, 6);
    expect(high).toBeCloseTo(3 * 2.25, 6);
  });

  it('holds the truth of small images estimated from scattered large ones', () => {
    const m = momentsOf(on([12, 16, 20, 24, 28, 32], 0.1));
    const line = fitLine(m)!;
    const small = [1, 1, 2, 2, 3];
    const truth = small.reduce((s, mp) => s + 2 + 0.25 * mp, 0);
    const mean = meansOf(m).megapixels;
    const { low, high } = cpuInterval(m, { line, fitted: true }, selection(small, mean));
    expect(low).toBeLessThan(truth);
    expect(high).toBeGreaterThan(truth);
  });

  it('bounds a level by size alone: no cheaper than the same CPU per megapixel, no dearer than the same CPU per image', () => {
    const m = momentsOf([
      [10, 5],
      [10, 5],
    ]);
    const line = scaledTo(m, { fixed: 1, perMegapixel: 0.1 });
    const { low, high } = cpuInterval(m, { line, fitted: false }, selection([1, 20], 10));
    // 1 MP: between 0.5 and 5 CPU-s; 20 MP: between 5 and 10.
    expect(low).toBeCloseTo(5.5, 9);
    expect(high).toBeCloseTo(15, 9);
  });
});
