/**
 * Processor benchmark (targets: docs/performance.md#targets), run by `pnpm bench` on the bundle
 * that `build` wrote:
 * - start-up: spawn → the processor's "reading original" log line (its first
 *   storage read, after the job spec and `started` callbacks to a real backend
 *   on loopback), as a ratio to a bare `node -e 0` spawn → exit measured in the
 *   same run; target ≤ 1.5×. Medians of 15 interleaved runs, after one warm-up
 *   run (page cache, V8 compile cache). Beside it, the floor: a script that makes
 *   only the processor's first request (the job spec) and nothing else.
 * - one 12 MP photo through the job (spawn of the bundle → original read →
 *   variants stored → `complete` callback answered, i.e. the processor's
 *   "image processed" log line) against processImage on the same bytes in
 *   this process, interleaved, medians of ROUNDS; target ≤ 1.3×. Both use
 *   the candidate preset (IMAGING_PRESET); a web-v1 job runs in the same
 *   rounds for the cost comparison.
 * - peak RSS (the kernel's ru_maxrss, logged by the processor) of one job on a
 *   generated 50 MP JPEG with the candidate preset and the Dockerfile's
 *   MALLOC_ARENA_MAX / MALLOC_MMAP_THRESHOLD_ / VIPS_CONCURRENCY; target ≤ 600 MB.
 * - Cloud Run Jobs list price per 1,000 such 12 MP photos (packages/contracts/src/cloud-run-pricing.ts).
 *
 * Each part is measured by its own module (start-up.ts, peak-rss.ts, twelve-megapixel-job.ts);
 * this file runs them in that order against one backend and records their figures.
 */
import { loadavg } from 'node:os';
import { startTestBackend } from '@slideshow/backend/testing';
import { type Figure, recordFigures } from '@slideshow/tools/bench-results';
import { measurePeakRss } from './peak-rss.ts';
import { fiftyMegapixelJpeg, twelveMegapixelJpeg } from './photos.ts';
import { measureStartUp } from './start-up.ts';
import { measureTwelveMegapixelJob } from './twelve-megapixel-job.ts';

const RUNS = 15;
/** Interleaved rounds of the 12 MP comparison. */
const ROUNDS = 5;

const backend = await startTestBackend({ maxUploadBytes: 200 * 1024 * 1024 });
try {
  const startUp = await measureStartUp(backend, RUNS);
  const peakRss = await measurePeakRss(backend, await fiftyMegapixelJpeg());
  // One 12 MP photo after the 50 MP run: ru_maxrss of a child counts this process's RSS at
  // fork time, and processImage here grows it.
  const twelve = await measureTwelveMegapixelJob(backend, await twelveMegapixelJpeg(), ROUNDS);
  // Taken after the last part (the 12 MP rounds), so it says what the whole run ran beside.
  const load: Figure = {
    name: 'processor bench load average (1 min) at the end',
    value: loadavg()[0] ?? 0,
    unit: 'load',
    baseline: null,
    target: null,
    met: null,
  };
  recordFigures([...startUp, ...peakRss, ...twelve, load]);
} finally {
  await backend.stop();
}
