/**
 * Reads deploy/job-limits.env, the one definition of the processor job's
 * limits (docs/deploy.md "Job limits"): the local stack registers its job with
 * them, as scripts/setup and the Cloud Build configs do in Google Cloud.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './shared-dir.ts';

/** The job limits, as numbers. */
export interface JobLimits {
  /** The job's `--max-retries` and the processor's / workflow's `MAX_RETRIES`. */
  maxRetries: number;
  /** The job's `--task-timeout` in seconds and the workflow's `TASK_TIMEOUT_SECONDS`. */
  taskTimeoutSeconds: number;
  /** The workflow's `JOB_PARALLELISM`: a batch of N images runs as min(N, this) tasks. */
  jobParallelism: number;
}

/**
 * What Cloud Run accepts for each name, inclusive. The workflow's wait budget
 * binds the timeout and retries tighter (one image: 300 s + timeout ×
 * (retries + 1) ≤ 7,200 s, so at most 1,725 s with 3 retries); the workflow
 * owns that check (`check_budget`, refusing every run that would not fit) and
 * scripts/test/config-contract.test.ts holds the file to it, so it is not
 * repeated here.
 */
export const JOB_LIMIT_BOUNDS = {
  // 0–10 retries per task (https://cloud.google.com/run/docs/configuring/max-retries).
  MAX_RETRIES: { min: 0, max: 10 },
  // "up to 168 hours (7 days)" per task attempt
  // (https://cloud.google.com/run/docs/configuring/task-timeout; 24 h before).
  TASK_TIMEOUT_SECONDS: { min: 1, max: 168 * 3600 },
  // It becomes a run's taskCount (for a batch of at least that many images), and
  // a job has "up to 10,000 tasks" (https://cloud.google.com/run/docs/create-jobs).
  JOB_PARALLELISM: { min: 1, max: 10_000 },
} as const;

type JobLimitName = keyof typeof JOB_LIMIT_BOUNDS;

function isJobLimitName(name: string): name is JobLimitName {
  return Object.hasOwn(JOB_LIMIT_BOUNDS, name);
}

/** Where the definition lives. */
export const JOB_LIMITS_FILE = join(repoRoot, 'deploy', 'job-limits.env');

/**
 * Parses the `NAME=digits` lines of a job-limits file (comments and blank
 * lines skipped). Throws naming the file and the problem: a missing,
 * non-integer or out-of-bounds value, or an unknown name, is a broken deploy,
 * not a default.
 */
export function parseJobLimits(text: string, source = JOB_LIMITS_FILE): JobLimits {
  const values = new Map<JobLimitName, number>();
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([A-Z_]+)=([0-9]+)$/.exec(line);
    if (!match?.[1] || !match[2]) {
      throw new Error(`${source}:${index + 1}: expected NAME=<digits> but received ${line}`);
    }
    if (!isJobLimitName(match[1])) {
      throw new Error(`${source}:${index + 1}: unknown name ${match[1]}`);
    }
    values.set(match[1], Number(match[2]));
  }
  const need = (name: JobLimitName): number => {
    const value = values.get(name);
    if (value === undefined) throw new Error(`${source}: ${name} is missing`);
    const { min, max } = JOB_LIMIT_BOUNDS[name];
    if (value < min || value > max) {
      throw new Error(`${source}: ${name} must be between ${min} and ${max}, not ${value}`);
    }
    return value;
  };
  return {
    maxRetries: need('MAX_RETRIES'),
    taskTimeoutSeconds: need('TASK_TIMEOUT_SECONDS'),
    jobParallelism: need('JOB_PARALLELISM'),
  };
}

/** Reads and parses deploy/job-limits.env. */
export function readJobLimits(file = JOB_LIMITS_FILE): JobLimits {
  return parseJobLimits(readFileSync(file, 'utf8'), file);
}
