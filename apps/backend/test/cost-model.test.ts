/**
 * Which measurements a dry run's estimate stands on (src/regen/cost-model.ts):
 * sums of images of no known size (0 MP) set no level, so an estimate never
 * scales a line by CPU over a mean of 0 MP.
 */
import { describe, expect, it } from 'vitest';
import { costModel } from '../src/regen/cost-model.ts';
import { momentsOf } from '../src/regen/cpu-fit.ts';

/** Images of these sizes at 1.5 CPU-s + 0.1 CPU-s per MP. */
const measured = (mps: number[]) => momentsOf(mps.map((mp) => [mp, 1.5 + 0.1 * mp] as const));
const none = momentsOf([]);
const LARGE = Array.from({ length: 12 }, (_, i) => 12 + 2 * i);
const UNKNOWN_SIZES = Array.from({ length: 12 }, () => 0);

describe('costModel', () => {
  it('leaves this version’s images of 0 MP aside and borrows the other versions’ figures', () => {
    const model = costModel({ own: measured(UNKNOWN_SIZES), others: measured(LARGE) });
    expect(model.basis).toBe('other preset versions');
    expect(model.line).toEqual(costModel({ own: none, others: measured(LARGE) }).line);
  });

  it('falls back to the documented figure when every measured image has 0 MP', () => {
    const model = costModel({ own: measured(UNKNOWN_SIZES), others: measured(UNKNOWN_SIZES) });
    expect(model.basis).toBe('documented figure');
    expect(model.moments.sx).toBeGreaterThan(0);
  });
});
