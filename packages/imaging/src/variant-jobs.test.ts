import { describe, expect, it } from 'vitest';
import { runByCost } from './concurrency.ts';
import type { Intermediate } from './decode.ts';
import { resolveLimits } from './limits.ts';
import { PRESETS, type Preset } from './presets.ts';
import { animatedGif } from './test-fixtures.ts';
import { animatedJobs } from './variant-jobs.ts';

describe('the encodes of an animation', () => {
  it('run one at a time, even with free slots in the pool', async () => {
    const width = 700;
    const height = 100;
    const gif = await animatedGif(6, width, height);
    // The poster's intermediate (a grey first frame is enough here).
    const poster: Intermediate = {
      input: Buffer.alloc(width * height * 3, 128),
      options: { raw: { width, height, channels: 3 } },
      width,
      height,
      channels: 3,
      hasAlpha: false,
      keepIcc: false,
    };
    const widths = [320, 640, 700];
    const preset = PRESETS['web-v3'] as Preset;
    const jobs = await animatedJobs(gif, poster, widths, preset, resolveLimits(), {
      width,
      height,
    });
    // animatedJobs returns the animated encodes first (one per width), then the poster.
    let running = 0;
    let most = 0;
    const watched = jobs.map((job, index) => ({
      ...job,
      run: async () => {
        const animated = index < widths.length;
        if (animated) most = Math.max(most, ++running);
        try {
          return await job.run();
        } finally {
          if (animated) running -= 1;
        }
      },
    }));
    const variants = await runByCost(watched, 4);
    expect(most).toBe(1);
    expect(variants.filter((v) => v.animated).map((v) => v.width)).toEqual(widths);
  });
});
