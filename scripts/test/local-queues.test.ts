/**
 * The local stack's queues against scripts/setup's: the same retry policy
 * (tools/local-provision.ts LOCAL_QUEUES), and rates that differ on purpose (setup
 * derives them from the Cloud Run job-run quota, which local-cloud does not
 * impose), never lower than setup's defaults.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOCAL_QUEUES } from '../../tools/local-provision.ts';
import { scriptsDir } from './helpers/gcloud-double.ts';

/** setup's `queue_settings`: per queue, rate, concurrency, attempts, min/max backoff, doublings, duration. */
async function setupQueueSettings(): Promise<Record<string, string[]>> {
  const setup = await readFile(join(scriptsDir, 'setup'), 'utf8');
  const out: Record<string, string[]> = {};
  for (const [, queue, fields] of setup.matchAll(/\[\$(UPLOADS|INGEST)_QUEUE\]="([^"]+)"/g)) {
    out[queue === 'UPLOADS' ? 'image-uploads' : 'image-ingest'] = (fields ?? '').split(' ');
  }
  return out;
}

describe("the local stack's queues", () => {
  it("retry as scripts/setup's do", async () => {
    const setup = await setupQueueSettings();
    expect(Object.keys(setup).sort()).toEqual(Object.keys(LOCAL_QUEUES).sort());
    for (const [queue, { retryConfig }] of Object.entries(LOCAL_QUEUES)) {
      const [, , attempts, minBackoff, maxBackoff, doublings, duration] = setup[queue] ?? [];
      expect(retryConfig, queue).toEqual({
        maxAttempts: Number(attempts),
        minBackoff,
        maxBackoff,
        maxDoublings: Number(doublings),
        maxRetryDuration: duration,
      });
    }
  });

  it("dispatch at least as fast as setup's default rates (0.6/s and 0.2/s from 60 job runs a minute)", async () => {
    const setup = await setupQueueSettings();
    const defaults: Record<string, number> = { 'image-uploads': 0.6, 'image-ingest': 0.2 };
    for (const [queue, { rateLimits }] of Object.entries(LOCAL_QUEUES)) {
      expect(rateLimits.maxDispatchesPerSecond, queue).toBeGreaterThanOrEqual(defaults[queue] ?? 0);
      expect(rateLimits.maxConcurrentDispatches, queue).toBeGreaterThanOrEqual(
        Number(setup[queue]?.[1]),
      );
    }
  });
});
