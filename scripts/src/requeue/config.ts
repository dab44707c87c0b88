/**
 * Command line and environment of scripts/requeue-failed, validated once.
 */
import { parseArgs } from 'node:util';
import { ERROR_CODES, IMAGE_ERROR_CODES } from '@slideshow/contracts';
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
  includeMissingOriginals: boolean;
  concurrency: number;
  /** Only validate the options and environment (scripts/rollback, before it touches anything). */
  check: boolean;
}

/** Usage text (--help; after a usage error too). */
export const USAGE = `usage: scripts/requeue-failed [--since ISO] [--code CODE] [--include-permanent] [--include-missing-originals] [--concurrency N] [--dry-run] [--check]
Re-queues the open failed tasks the backend's admin API lists (newest first, up to 10,000).
By default it skips the permanent failures, which a retry repeats until something else changes:
  image errors (${IMAGE_ERROR_CODES.join(', ')}): --include-permanent takes them (after a processor fix or a rollback)
  a missing original (NOT_FOUND): --code NOT_FOUND takes it once the original is restored; --include-missing-originals
    takes it too (a bad release can fail good images NOT_FOUND: a wrong bucket, a wrong key; scripts/rollback uses it)
and it always leaves the rows the backend lists as not retryable (failed regenerations).
  --since: only failures recorded since this ISO 8601 time with an offset or Z, e.g. 2026-11-22T10:00:00Z
  --code: only this error code (packages/contracts/src/error-codes.ts), e.g. STORAGE_UNAVAILABLE; takes its rows even when permanent
  --include-permanent: take the image errors too (not NOT_FOUND)
  --include-missing-originals: take the missing originals (NOT_FOUND) too
  --concurrency: retries in flight at once, 1..32 (default 4)
  --dry-run: list what would be re-queued, re-queue nothing
  --check: validate the options and environment, call nothing
exit status: 0 when every selected image was re-queued (or --dry-run, --check, --help); 1 when any could not be
  (each is named) or the backend could not be asked; 2 on bad usage
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
      'include-missing-originals': { type: 'boolean', default: false },
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
    includeMissingOriginals: values['include-missing-originals'],
    concurrency,
    check: values.check,
  };
}
