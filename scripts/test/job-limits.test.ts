/**
 * tools/job-limits.ts, the reader of deploy/job-limits.env: it accepts what
 * Cloud Run accepts for each limit and refuses the rest, naming the file, the
 * name and the bound. Whether the limits fit the workflow's wait budget is the
 * workflow's check (scripts/test/config-contract.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { JOB_LIMIT_BOUNDS, parseJobLimits, readJobLimits } from '../../tools/job-limits.ts';

/** A job-limits file with the given values (the committed ones unless replaced). */
function file(values: Partial<Record<keyof typeof JOB_LIMIT_BOUNDS, string>>): string {
  const all = { MAX_RETRIES: '3', TASK_TIMEOUT_SECONDS: '600', JOB_PARALLELISM: '10', ...values };
  return `# limits\n\n${Object.entries(all)
    .map(([name, value]) => `${name}=${value}`)
    .join('\n')}\n`;
}

describe('parseJobLimits', () => {
  it('reads the committed deploy/job-limits.env, JOB_PARALLELISM included', () => {
    const limits = readJobLimits();
    expect(limits).toEqual({
      maxRetries: expect.any(Number),
      taskTimeoutSeconds: expect.any(Number),
      jobParallelism: expect.any(Number),
    });
    expect(limits.jobParallelism).toBeGreaterThanOrEqual(1);
  });

  it("accepts a task timeout up to Cloud Run's 168 h (604,800 s), not only 24 h, and refuses one second more", () => {
    expect(JOB_LIMIT_BOUNDS.TASK_TIMEOUT_SECONDS.max).toBe(604_800);
    for (const seconds of [86_401, 604_800]) {
      expect(
        parseJobLimits(file({ TASK_TIMEOUT_SECONDS: String(seconds) }), 'limits.env'),
      ).toMatchObject({ taskTimeoutSeconds: seconds });
    }
    expect(() => parseJobLimits(file({ TASK_TIMEOUT_SECONDS: '604801' }), 'limits.env')).toThrow(
      'limits.env: TASK_TIMEOUT_SECONDS must be between 1 and 604800, not 604801',
    );
    expect(() => parseJobLimits(file({ TASK_TIMEOUT_SECONDS: '0' }), 'limits.env')).toThrow(
      'TASK_TIMEOUT_SECONDS must be between 1 and 604800, not 0',
    );
  });

  it('accepts 0 to 10 retries and refuses 11', () => {
    expect(parseJobLimits(file({ MAX_RETRIES: '0' }))).toMatchObject({ maxRetries: 0 });
    expect(parseJobLimits(file({ MAX_RETRIES: '10' }))).toMatchObject({ maxRetries: 10 });
    expect(() => parseJobLimits(file({ MAX_RETRIES: '11' }), 'limits.env')).toThrow(
      'limits.env: MAX_RETRIES must be between 0 and 10, not 11',
    );
  });

  it('accepts a JOB_PARALLELISM from 1 to 10,000 (the tasks a job may have) and refuses 0 and 10,001', () => {
    expect(parseJobLimits(file({ JOB_PARALLELISM: '1' }))).toMatchObject({ jobParallelism: 1 });
    expect(parseJobLimits(file({ JOB_PARALLELISM: '10000' }))).toMatchObject({
      jobParallelism: 10_000,
    });
    for (const value of ['0', '10001']) {
      expect(() => parseJobLimits(file({ JOB_PARALLELISM: value }), 'limits.env')).toThrow(
        `limits.env: JOB_PARALLELISM must be between 1 and 10000, not ${value}`,
      );
    }
  });

  it('refuses a file without JOB_PARALLELISM, an unknown name and a value with a unit, naming the line', () => {
    expect(() => parseJobLimits('MAX_RETRIES=3\nTASK_TIMEOUT_SECONDS=600\n', 'limits.env')).toThrow(
      'limits.env: JOB_PARALLELISM is missing',
    );
    expect(() => parseJobLimits(`${file({})}PARALLELISM=10\n`, 'limits.env')).toThrow(
      'limits.env:6: unknown name PARALLELISM',
    );
    expect(() => parseJobLimits(file({ TASK_TIMEOUT_SECONDS: '10m' }), 'limits.env')).toThrow(
      'limits.env:4: expected NAME=<digits> but received TASK_TIMEOUT_SECONDS=10m',
    );
  });
});
