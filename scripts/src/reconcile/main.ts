/**
 * Entry point of scripts/reconcile (docs/operations.md, "After a restore"):
 * walks `POST /api/admin/reconcile/variants` batch by batch until `next` is
 * null, then `GET /api/admin/reconcile/originals` page by page, with
 * requeue-failed's admin client and its retry policy (a 503 during a handover
 * or an unreachable backend is retried for a while). A retried batch is safe:
 * an image it already failed is no longer processed, and is not found again.
 * Exit status: 0 done (whatever it found: the summary says), 1 the backend
 * refused, failed or could not be reached, 2 bad usage (options, BACKEND_URL
 * and ADMIN_TOKEN, checked before any request).
 */
import { parseArgs } from 'node:util';
import {
  MAX_RECONCILE_BATCH,
  type ReconcileFinding,
  ReconcileOriginalsAnswer,
  ReconcileVariantsAnswer,
  type RowlessOriginal,
} from '@slideshow/contracts';
import { AppError, coerceError } from '@slideshow/runtime';
import {
  type AdminClient,
  createAdminClient,
  readAdminEnv,
  sayRetrying,
} from '../requeue/admin-client.ts';

/** How to call it. */
export const USAGE = `usage: scripts/reconcile [--dry-run] [--batch N]
--dry-run: only report; nothing is marked failed
--batch: processed images checked per request, 1-${MAX_RECONCILE_BATCH} (default 100)
environment: BACKEND_URL, ADMIN_TOKEN`;

/** The options of a command line. Throws on bad usage. */
export function optionsFor(argv: string[]): { dryRun: boolean; batch: number } {
  const { values } = parseArgs({
    args: argv,
    options: {
      'dry-run': { type: 'boolean', default: false },
      batch: { type: 'string', default: '100' },
    },
  });
  const batch = Number(values.batch);
  if (!/^[1-9][0-9]*$/.test(values.batch) || batch > MAX_RECONCILE_BATCH) {
    throw new Error(`--batch is an integer from 1 to ${MAX_RECONCILE_BATCH}, not ${values.batch}`);
  }
  return { dryRun: values['dry-run'], batch };
}

/** What the whole walk found: the summary on stdout. */
export interface ReconcileSummary {
  dryRun: boolean;
  /** Processed images checked. */
  checked: number;
  /** Images whose variants are missing, original still stored: failed VARIANTS_MISSING, retry them. */
  variantsMissing: ReconcileFinding[];
  /** Images whose variants and original are missing: failed NOT_FOUND, only a delete is left. */
  originalMissing: ReconcileFinding[];
  /** Images this run marked failed. */
  failed: number;
  /** Stored originals of uploads no row names: listed, never deleted. */
  rowlessOriginals: RowlessOriginal[];
}

/** Reads an answer by its contract; one that breaks it is an INTERNAL error naming the path. */
function parsed<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } },
  path: string,
  raw: unknown,
): T {
  const result = schema.safeParse(raw);
  if (!result.success) {
    throw new AppError('INTERNAL', `${path} answered outside its contract: ${JSON.stringify(raw)}`);
  }
  return result.data;
}

/** Every batch of the variant check, then every page of the originals listing. */
export async function reconcile(
  client: AdminClient,
  options: { dryRun: boolean; batch: number },
  progress: (line: string) => void,
): Promise<ReconcileSummary> {
  const summary: ReconcileSummary = {
    dryRun: options.dryRun,
    checked: 0,
    variantsMissing: [],
    originalMissing: [],
    failed: 0,
    rowlessOriginals: [],
  };
  let after = '';
  do {
    const path = '/api/admin/reconcile/variants';
    const body = { dryRun: options.dryRun, after, limit: options.batch };
    const answer = parsed(ReconcileVariantsAnswer, path, await client.send('POST', path, body));
    summary.checked += answer.checked;
    summary.failed += answer.failed;
    for (const f of answer.findings) {
      (f.code === 'NOT_FOUND' ? summary.originalMissing : summary.variantsMissing).push(f);
    }
    progress(
      `variants: ${summary.checked} processed images checked, ${summary.variantsMissing.length + summary.originalMissing.length} incomplete`,
    );
    after = answer.next ?? '';
  } while (after !== '');
  do {
    const path = `/api/admin/reconcile/originals?${new URLSearchParams({ after })}`;
    const answer = parsed(ReconcileOriginalsAnswer, path, await client.send('GET', path));
    summary.rowlessOriginals.push(...answer.originals);
    progress(`originals: ${summary.rowlessOriginals.length} without a row so far`);
    after = answer.next ?? '';
  } while (after !== '');
  return summary;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  let options: ReturnType<typeof optionsFor>;
  let env: ReturnType<typeof readAdminEnv>;
  try {
    env = readAdminEnv(process.env);
    options = optionsFor(argv);
  } catch (error) {
    console.error(`error: ${coerceError(error).message}\n${USAGE}`);
    return 2;
  }
  const say = (line: string) => console.error(line);
  const onRetry = sayRetrying(say);
  const client = createAdminClient({
    baseUrl: env.backendUrl,
    token: env.token,
    ...(onRetry ? { onRetry } : {}),
  });
  try {
    const summary = await reconcile(client, options, say);
    console.log(JSON.stringify(summary, null, 2));
    return 0;
  } catch (error) {
    const e = coerceError(error);
    console.error(`error: ${e.code}: ${e.message}`);
    return 1;
  }
}

if (import.meta.main) process.exitCode = await main();
