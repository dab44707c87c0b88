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
}

/** Where the definition lives. */
export const JOB_LIMITS_FILE = join(repoRoot, 'deploy', 'job-limits.env');

/**
 * Parses the `NAME=digits` lines of a job-limits file (comments and blank
 * lines skipped). Throws naming the file and the problem: a missing or
 * non-integer value, or an unknown name, is a broken deploy, not a default.
 */
export function parseJobLimits(text: string, source = JOB_LIMITS_FILE): JobLimits {
  const values = new Map<string, number>();
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([A-Z_]+)=([0-9]+)$/.exec(line);
    if (!match?.[1] || !match[2]) {
      throw new Error(`${source}:${index + 1}: expected NAME=<digits> but received ${line}`);
    }
    if (match[1] !== 'MAX_RETRIES' && match[1] !== 'TASK_TIMEOUT_SECONDS') {
      throw new Error(`${source}:${index + 1}: unknown name ${match[1]}`);
    }
    values.set(match[1], Number(match[2]));
  }
  const need = (name: string, min: number, max: number): number => {
    const value = values.get(name);
    if (value === undefined) throw new Error(`${source}: ${name} is missing`);
    if (value < min || value > max) {
      throw new Error(`${source}: ${name} must be between ${min} and ${max}, not ${value}`);
    }
    return value;
  };
  // Cloud Run jobs: 0–10 retries per task; a task timeout of at most 24 h
  // (https://cloud.google.com/run/docs/configuring/jobs/task-timeout).
  return {
    maxRetries: need('MAX_RETRIES', 0, 10),
    taskTimeoutSeconds: need('TASK_TIMEOUT_SECONDS', 1, 86_400),
  };
}

/** Reads and parses deploy/job-limits.env. */
export function readJobLimits(file = JOB_LIMITS_FILE): JobLimits {
  return parseJobLimits(readFileSync(file, 'utf8'), file);
}
