/** Fixtures for the run package's unit tests: a stored job and its execution template. */
import type { ExecutionTemplate, Job } from './model.ts';

export const SAMPLE_TIME = '2026-12-06T00:00:00.000Z';

/** One task, three retries, the processor's image. */
export const sampleTemplate: ExecutionTemplate = {
  taskCount: 1,
  parallelism: 1,
  template: { containers: [{ image: 'local/processor' }], maxRetries: 3, timeout: '600s' },
};

/** A fresh `processor` job under `projects/p/locations/l` (tests change its counters). */
export function sampleJob(): Job {
  return {
    name: 'projects/p/locations/l/jobs/processor',
    uid: 'u',
    generation: '1',
    createTime: SAMPLE_TIME,
    updateTime: SAMPLE_TIME,
    launchStage: 'GA',
    template: sampleTemplate,
    executionCount: 0,
    reconciling: false,
    etag: 'e',
  };
}
