/**
 * How long Cloud Tasks keeps retrying a task with the queue settings scripts/setup
 * applies, computed with local-cloud's implementation of Google's RetryConfig
 * (apps/local-cloud/src/tasks/retry-policy.ts): the docs and the reaper count on
 * retries ending 6 h (maxRetryDuration) after the first attempt, and Cloud Tasks
 * stops only once maxAttempts *and* maxRetryDuration are both reached, so
 * maxAttempts must be reached within the 6 h.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backoffMs,
  isExhausted,
  type RetryPolicy,
} from '../../apps/local-cloud/src/tasks/retry-policy.ts';
import {
  createGcloudDouble,
  type GcloudDouble,
  notFound,
  runScript,
} from './helpers/gcloud-double.ts';

const seconds = (value: string | undefined): number => {
  const match = /^(\d+)s$/.exec(value ?? '');
  if (!match?.[1]) throw new Error(`Expected a duration like 300s but received ${value}`);
  return Number(match[1]) * 1000;
};

/** The retry policy of a `gcloud tasks queues create …` command line. */
function policyOf(command: string): RetryPolicy {
  const flag = (name: string) => new RegExp(`--${name}=(\\S+)`).exec(command)?.[1];
  return {
    maxAttempts: Number(flag('max-attempts')),
    maxRetryDurationMs: seconds(flag('max-retry-duration')),
    minBackoffMs: seconds(flag('min-backoff')),
    maxBackoffMs: seconds(flag('max-backoff')),
    maxDoublings: Number(flag('max-doublings')),
  };
}

/** When the last attempt of a task that always fails starts, in ms after the first. */
function lastAttemptMs(policy: RetryPolicy): number {
  let at = 0;
  for (let attempts = 1; ; attempts++) {
    if (isExhausted(policy, attempts, 0, at)) return at;
    at += backoffMs(policy, attempts);
  }
}

describe('the Cloud Tasks retry window of the queues scripts/setup creates', () => {
  let gcloud: GcloudDouble;
  let creates: string[] = [];

  beforeAll(async () => {
    gcloud = await createGcloudDouble([notFound('*describe*')]);
    const result = await runScript('setup', ['--project', 'demo', '--steps', 'queues'], gcloud.env);
    if (result.status !== 0) throw new Error(`setup failed: ${result.stderr}`);
    creates = (await gcloud.mutations()).filter((c) => c.includes('tasks queues create'));
  });
  afterAll(async () => {
    await gcloud?.cleanup();
  });

  it('ends retries at maxRetryDuration (6 h), within one backoff, for both queues', () => {
    expect(creates).toHaveLength(2);
    const HOUR = 3_600_000;
    const windows = creates.map((command) => {
      const policy = policyOf(command);
      const last = lastAttemptMs(policy);
      return {
        queue: /create (\S+)/.exec(command)?.[1],
        duration: policy.maxRetryDurationMs / HOUR,
        endsWithinOneBackoff:
          last >= policy.maxRetryDurationMs &&
          last <= policy.maxRetryDurationMs + policy.maxBackoffMs,
        lastAttemptHours: Math.round((last / HOUR) * 100) / 100,
      };
    });
    expect(windows).toEqual([
      expect.objectContaining({ queue: 'image-uploads', duration: 6, endsWithinOneBackoff: true }),
      expect.objectContaining({ queue: 'image-ingest', duration: 6, endsWithinOneBackoff: true }),
    ]);
  });
});
