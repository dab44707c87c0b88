/**
 * Command line and environment of scripts/requeue-failed, validated once.
 */
import { parseArgs } from 'node:util';
import { ERROR_CODES } from '@slideshow/contracts';
import { AppError } from '@slideshow/runtime';
import { parseIsoTime } from '../iso-time.ts';
import { readAdminEnv } from './admin-client.ts';

/** The validated settings. */
export interface RequeueConfig {
  backendUrl: string;
  token: string;
  since: string | undefined;
  code: string | undefined;
  dryRun: boolean;
  includePermanent: boolean;
  concurrency: number;
  /** Only validate the options and environment (scripts/rollback, before it touches anything). */
  check: boolean;
}

/** Usage text. */
export const USAGE = `usage: scripts/requeue-failed [--since ISO] [--code CODE] [--include-permanent] [--concurrency N] [--dry-run] [--check]
  --since: ISO 8601 with an offset or Z, e.g. 2026-11-22T10:00:00Z
  --code: one of the error codes (packages/contracts/src/error-codes.ts), e.g. STORAGE_UNAVAILABLE
  --check: validate the options and environment, call nothing, exit 0 (2 on bad usage)
environment: BACKEND_URL (the backend's URL), ADMIN_TOKEN (a bearer admin token)`;

/**
 * `--code`'s value when it is one of the error codes failed_tasks rows carry:
 * a misspelt one would select nothing and re-queue nothing, without a word.
 */
function errorCode(text: string): string {
  if ((ERROR_CODES as readonly string[]).includes(text)) return text;
  throw new AppError(
    'VALIDATION_FAILED',
    `Expected an error code for --code but received "${text}"; the codes are ${ERROR_CODES.join(', ')}`,
  );
}

/** Reads argv and the environment; throws VALIDATION_FAILED with a usable message. */
export function loadConfig(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
): RequeueConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      since: { type: 'string' },
      code: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      'include-permanent': { type: 'boolean', default: false },
      check: { type: 'boolean', default: false },
      concurrency: { type: 'string', default: '4' },
    },
    strict: true,
  });
  const { backendUrl, token } = readAdminEnv(env);
  const since = values.since === undefined ? undefined : parseIsoTime('--since', values.since);
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32) {
    throw new AppError(
      'VALIDATION_FAILED',
      `Expected an integer 1..32 for --concurrency but received "${values.concurrency}"`,
    );
  }
  return {
    backendUrl,
    token,
    since,
    code: values.code === undefined ? undefined : errorCode(values.code),
    dryRun: values['dry-run'],
    includePermanent: values['include-permanent'],
    concurrency,
    check: values.check,
  };
}
