/**
 * The regeneration panel's ETA in words (src/web/assets/admin-eta.js): long
 * ETAs in hours (before: "930 min"), none for a paused run, whose pace the
 * backend no longer reports (regen/run-view.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest';

type EtaText = (seconds: number | null | undefined, status?: string) => string;

describe('the regeneration panel’s ETA', () => {
  let etaText: EtaText;
  beforeAll(async () => {
    const path = '../src/web/assets/admin-eta.js';
    ({ etaText } = (await import(path)) as { etaText: EtaText });
  });

  it('reads seconds, then minutes, then hours and minutes', () => {
    expect(etaText(45, 'running')).toBe('45 s');
    expect(etaText(89, 'running')).toBe('89 s');
    expect(etaText(108, 'running')).toBe('2 min');
    expect(etaText(89 * 60, 'running')).toBe('89 min');
    expect(etaText(90 * 60, 'running')).toBe('1 h 30 min');
    expect(etaText(930 * 60, 'running')).toBe('15 h 30 min');
    expect(etaText(48 * 3600, 'running')).toBe('48 h');
  });

  it('shows a dash when nothing is known, and says a paused run is paused', () => {
    expect(etaText(null, 'running')).toBe('—');
    expect(etaText(undefined, 'done')).toBe('—');
    expect(etaText(null, 'paused')).toBe('— (paused)');
  });
});
