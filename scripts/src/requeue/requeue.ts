/**
 * Lists unresolved failed tasks through the admin API and re-queues each one,
 * a few at a time. Permanent failures (the contracts' `permanenceOf`) are
 * skipped by default: retrying them fails the same way. Image errors (corrupt,
 * too large, unsupported…) are taken with `--include-permanent` (a changed
 * processor may read them: scripts/rollback); a missing original (NOT_FOUND)
 * only when its code is asked for (`--code NOT_FOUND`, after restoring the
 * original): no processor change brings an original back. Rows the backend lists as not retryable (a
 * failed regeneration: its image is processed and keeps serving its old
 * variants; another regeneration run takes it) are always left alone — the
 * retry would answer 409.
 */
import { permanenceOf } from '@slideshow/contracts';
import { coerceError, mapLimit } from '@slideshow/runtime';
import type { AdminClient, FailedTask, FailedTaskFilter } from './admin-client.ts';
import type { Progress } from './progress.ts';

/** Options for {@link requeueFailed}. */
export interface RequeueOptions {
  client: AdminClient;
  filter: FailedTaskFilter;
  dryRun: boolean;
  includePermanent: boolean;
  /** Take the missing originals (NOT_FOUND) too: a bad release can fail good images so (scripts/rollback). */
  includeMissingOriginals: boolean;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  progress: (total: number) => Progress;
}

/** What happened, for the summary and the exit status. */
export interface RequeueSummary {
  listed: number;
  /** The listing's cap when it came back full (older failures were left out), else undefined. */
  fullAt: number | undefined;
  /** Rows whose image a retry does not take (a failed regeneration). */
  notRetryable: FailedTask[];
  /** Permanent failures left alone (not asked for by `--code` or `--include-permanent`). */
  skipped: FailedTask[];
  selected: FailedTask[];
  requeued: string[];
  failures: { imageId: string; code: string; message: string }[];
}

/** Runs one re-queue pass. */
export async function requeueFailed(options: RequeueOptions): Promise<RequeueSummary> {
  const { rows, limit } = await options.client.listFailedTasks(options.filter);
  const notRetryable = rows.filter((r) => !r.retryable);
  const candidates = rows.filter((r) => r.retryable);
  const selected = candidates.filter((r) => isAskedFor(r, options));
  const skipped = candidates.filter((r) => !selected.includes(r));
  const summary: RequeueSummary = {
    listed: rows.length,
    fullAt: rows.length >= limit ? limit : undefined,
    notRetryable,
    skipped,
    selected,
    requeued: [],
    failures: [],
  };
  if (options.dryRun || selected.length === 0) return summary;

  const progress = options.progress(selected.length);
  await mapLimit(selected, Math.max(1, options.concurrency ?? 4), async (row) => {
    try {
      await options.client.retryImage(row.imageId);
      summary.requeued.push(row.imageId);
      progress.tick(true);
    } catch (error) {
      const e = coerceError(error);
      summary.failures.push({ imageId: row.imageId, code: e.code, message: e.message });
      progress.tick(false);
    }
  });
  progress.done();
  return summary;
}

/**
 * Whether `row` is re-queued: a failure a retry may cure always; a permanent one
 * when its code was asked for (`--code`), an image error also with `--include-permanent`,
 * a missing original also with `--include-missing-originals`.
 */
function isAskedFor(row: FailedTask, options: RequeueOptions): boolean {
  const permanence = permanenceOf(row.errorCode);
  if (permanence === undefined || options.filter.code !== undefined) return true;
  return permanence === 'image' ? options.includePermanent : options.includeMissingOriginals;
}

/** "N skipped as permanent (…)", with the flag that takes each kind. */
function skippedText(skipped: readonly FailedTask[]): string {
  const missing = skipped.filter((r) => permanenceOf(r.errorCode) === 'original-missing').length;
  const image = skipped.length - missing;
  const kinds = [
    image > 0 ? `image errors: ${image}, --include-permanent takes them` : '',
    missing > 0
      ? `originals missing (NOT_FOUND): ${missing}, restore them, then --code NOT_FOUND; --include-missing-originals takes them`
      : '',
  ].filter(Boolean);
  return `${skipped.length} skipped as permanent${kinds.length > 0 ? ` (${kinds.join('; ')})` : ''}`;
}

/** Formats the summary printed on stdout. */
export function formatSummary(summary: RequeueSummary, dryRun: boolean): string {
  const lines: string[] = [];
  const byCode = new Map<string, number>();
  for (const r of summary.selected) byCode.set(r.errorCode, (byCode.get(r.errorCode) ?? 0) + 1);
  if (dryRun) {
    for (const r of summary.selected) {
      lines.push(`would requeue ${r.imageId}  ${r.errorCode}  ${r.lastAttempt ?? ''}`.trimEnd());
    }
  }
  const codes = [...byCode].map(([code, n]) => `${code}=${n}`).join(' ');
  lines.push(
    `failed tasks: ${summary.listed} listed, ${skippedText(summary.skipped)}, ` +
      `${summary.selected.length} selected${codes ? ` (${codes})` : ''}`,
  );
  if (summary.notRetryable.length > 0) {
    lines.push(
      `${summary.notRetryable.length} not retryable, left alone (failed regenerations: their images ` +
        'keep serving their old variants; run the regeneration again to take them)',
    );
  }
  if (summary.fullAt !== undefined) {
    lines.push(
      `the listing stopped at its cap of ${summary.fullAt} rows (newest first), those left alone included: ` +
        'older failures were not seen; run again after these are re-queued, or narrow with --since/--code',
    );
  }
  if (dryRun) lines.push('dry run: nothing was re-queued');
  else lines.push(`requeued: ${summary.requeued.length}, failed: ${summary.failures.length}`);
  for (const f of summary.failures)
    lines.push(`failed to requeue ${f.imageId}: ${f.code} ${f.message}`);
  return lines.join('\n');
}
