/**
 * The peak RSS figure: the kernel's ru_maxrss, logged by the processor, of one
 * job on a large photo with the candidate preset and the Dockerfile's
 * MALLOC_ARENA_MAX / MALLOC_MMAP_THRESHOLD_ / VIPS_CONCURRENCY; target ≤ 600 MB.
 * Beside it, the job's time and the machine's load average.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestBackend } from '@slideshow/backend/testing';
import type { Figure } from '@slideshow/tools/bench-results';
import { processorEnv, spawnProcessor } from '../test/helpers.ts';
import { IMAGE_ENV } from './deployed-env.ts';

/**
 * Runs one job on `photo` (the 50 MP JPEG: the figures' names and the per-megapixel
 * figure assume it); prints and returns its figures.
 */
export async function measurePeakRss(backend: TestBackend, photo: Buffer): Promise<Figure[]> {
  const { id } = await backend.upload(photo, 'fifty-megapixels.jpg');
  await sleep(100);
  const start = Date.now();
  const result = await spawnProcessor(
    { ...processorEnv(backend, id, { CALLBACK_DEADLINE_MS: '30000' }), ...IMAGE_ENV },
    { killAfterMs: 600_000 },
  ).done;
  const seconds = (Date.now() - start) / 1000;
  const finished = result.logs.find((l) => l.message === 'processor finished');
  if (result.code !== 0 || finished?.outcome !== 'processed') {
    throw new Error(`50 MP job failed (${result.code}):\n${result.stderr}`);
  }
  const peakMb = Number(finished.maxRssMb);
  console.log(
    `50 MP JPEG (${(photo.length / 1e6).toFixed(1)} MB): peak RSS ${peakMb} MB, ${seconds.toFixed(1)} s`,
  );
  return [
    {
      name: 'processor peak RSS, 50 MP JPEG',
      value: peakMb,
      unit: 'MB',
      baseline: null,
      target: '<= 600 MB',
      met: peakMb <= 600,
    },
    {
      name: 'processor job time, 50 MP JPEG',
      value: seconds,
      unit: 's',
      baseline: null,
      target: null,
      met: null,
    },
    {
      name: 'processor peak RSS per megapixel, 50 MP JPEG',
      value: peakMb / 50,
      unit: 'MB/MP',
      baseline: null,
      target: null,
      met: null,
    },
  ];
}
