/**
 * The timer and single-flight guard of the reaper and the orphan sweeper
 * (src/periodic-pass.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createPeriodicPass } from '../src/periodic-pass.ts';
import { memoryLogger } from './helpers.ts';

/** Waits (bounded) until `check` holds. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await sleep(10);
  expect(check()).toBe(true);
}

describe('createPeriodicPass', () => {
  it('never runs two passes at once: a call during a pass gets that pass', async () => {
    const { logger } = memoryLogger();
    let passes = 0;
    let release: () => void = () => {};
    const periodic = createPeriodicPass(
      async () => {
        passes++;
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        return passes;
      },
      { intervalMs: 60_000, logger, failure: 'pass failed' },
    );
    const first = periodic.runOnce();
    const second = periodic.runOnce();
    expect(second).toBe(first);
    release();
    expect(await first).toBe(1);
    // Once it ended, the next call is a new pass.
    const third = periodic.runOnce();
    expect(third).not.toBe(first);
    release();
    expect(await third).toBe(2);
  });

  it('runs on its timer, logs a failed pass and goes on; stop waits for the pass under way', async () => {
    const { logger, lines } = memoryLogger();
    let passes = 0;
    let finished = 0;
    const periodic = createPeriodicPass(
      async () => {
        passes++;
        await sleep(20);
        finished++;
        if (passes === 1) throw new Error('first pass fails');
      },
      { intervalMs: 5, logger, failure: 'pass failed' },
    );
    periodic.start();
    periodic.start(); // a second start adds no second timer
    await until(() => passes >= 3);
    await periodic.stop();
    // The pass that was under way finished before stop resolved, and no timer is left.
    expect(finished).toBe(passes);
    const after = passes;
    await sleep(50);
    expect(passes).toBe(after);
    expect(lines).toContainEqual(
      expect.objectContaining({ severity: 'ERROR', message: 'pass failed' }),
    );
    expect(lines.filter((l) => l.message === 'pass failed')).toHaveLength(1);
  });

  it('aborts the signal of the pass under way on stop, so a pass of many look-ups ends early', async () => {
    const { logger } = memoryLogger();
    const looked: number[] = [];
    let lookUp: () => void = () => {};
    const periodic = createPeriodicPass(
      async (signal) => {
        for (let i = 0; i < 100; i++) {
          if (signal.aborted) break;
          // A look-up that answers only when the test says so.
          await new Promise<void>((resolve) => {
            lookUp = resolve;
          });
          looked.push(i);
        }
        return looked.length;
      },
      { intervalMs: 60_000, logger, failure: 'pass failed' },
    );
    const pass = periodic.runOnce();
    lookUp();
    await until(() => looked.length === 1);
    const stopped = periodic.stop();
    // The look-up under way finishes; none after it starts.
    lookUp();
    await stopped;
    expect(await pass).toBe(2);
    // A pass after the stop gets a signal of its own, not the aborted one.
    const next = periodic.runOnce();
    lookUp();
    await until(() => looked.length === 3);
    lookUp();
    await until(() => looked.length === 4);
    const stoppedAgain = periodic.stop();
    lookUp();
    await stoppedAgain;
    expect(await next).toBe(5);
  });
});
