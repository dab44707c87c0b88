/**
 * The processor's error policy in one table (README "Exit codes and the error
 * policy"): how an image that was not processed ends — its exit status
 * (Cloud Run retries a non-zero exit until the job's `maxRetries`, and the
 * workflow's `except` reports the job failed after the last) and whether it
 * reports `failed` to the backend first. A permanent error is reported and
 * exits 0, so no retry is burned on it; a retryable one exits 1, reporting
 * only on the final attempt, since an earlier report would fail an image a
 * retry may still process. A batch task runs several images; its exit status
 * is the most urgent of theirs ({@link taskExitCode}).
 */
import type { AppError } from '@slideshow/runtime';

/** Exit statuses of the processor. */
export const EXIT_CODES = {
  /** Processed, permanently failed and reported, or nothing to do. */
  ok: 0,
  /** Retryable failure (or a failure that could not be reported): Cloud Run retries. */
  retry: 1,
  /** The environment is invalid. */
  config: 2,
  /** Stopped by SIGTERM/SIGINT (128 + 15). */
  terminated: 143,
} as const;

/** One of {@link EXIT_CODES}. */
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** How a task ended. */
export type RunOutcome =
  | 'processed'
  | 'already-done'
  | 'gone'
  | 'stale'
  | 'failed-permanent'
  | 'failed-unreported'
  | 'retryable'
  | 'terminated'
  /** Stopped by SIGINT: the local stack is shutting down (Ctrl-C); its next start runs the image. */
  | 'interrupted'
  /** A batch task was stopped (SIGTERM) before it began this image. */
  | 'not-reached';

/** Time the best-effort failure report may take once SIGTERM arrived (Cloud Run kills at 10 s). */
export const TERMINATION_REPORT_MS = 4_000;

/** True when Cloud Run will not retry this task again: attempts count from 0 up to `maxRetries`. */
export function isFinalAttempt(config: { attempt: number; maxRetries: number }): boolean {
  return config.attempt >= config.maxRetries;
}

/** What went wrong, as far as the policy cares. */
export type FailureKind =
  | 'terminated'
  | 'interrupted'
  | 'gone'
  | 'stale'
  | 'retryable'
  | 'permanent';

/** Sorts an error thrown by the task into a {@link FailureKind}. */
export function failureKind(error: AppError, aborted: boolean): FailureKind {
  // Cloud Run never sends SIGINT: it is a terminal's Ctrl-C, or local-cloud stopping its tasks
  // on shutdown (apps/local-cloud/src/run/child-process.ts). main.ts puts the signal in the reason.
  if (aborted && error.context.signal === 'SIGINT') return 'interrupted';
  if (aborted) return 'terminated';
  // The backend answered 404 for the image: it was deleted while the task ran. A store's
  // NOT_FOUND (Cloud Storage's 404 for a missing original) is the image's failure, reported.
  if (error.code === 'NOT_FOUND' && error.context.origin === 'backend') return 'gone';
  if (error.code === 'STALE_GENERATION') return 'stale';
  return error.retryable ? 'retryable' : 'permanent';
}

/** How a failed task ends. */
export interface FailurePlan {
  outcome: RunOutcome;
  exitCode: ExitCode;
  /** Report `failed` to the backend first, within this budget; `false`: no report. */
  report: false | 'callback-deadline' | 'termination';
  /** When the report could not be delivered: end this way instead (undefined: as planned). */
  unreported?: { outcome: RunOutcome; exitCode: ExitCode };
  /** Delete what this attempt wrote under the image's variant prefix. */
  deleteVariants: boolean;
}

const plan = (p: FailurePlan): FailurePlan => p;

/** The table: what each kind of failure does on the final attempt and on an earlier one. */
export const FAILURE_TABLE: Record<FailureKind, { final: FailurePlan; earlier: FailurePlan }> = {
  // SIGTERM is Cloud Run's timeout: the next attempt may finish; the last one says why it stopped.
  terminated: {
    final: plan({
      outcome: 'terminated',
      exitCode: EXIT_CODES.terminated,
      report: 'termination',
      deleteVariants: false,
    }),
    earlier: plan({
      outcome: 'terminated',
      exitCode: EXIT_CODES.terminated,
      report: false,
      deleteVariants: false,
    }),
  },
  // A shutdown of the local stack, not the image's doing: never reported (even on a final attempt
  // the image is not failed), and the stopped attempt runs again when local-cloud starts again.
  interrupted: {
    final: plan({
      outcome: 'interrupted',
      exitCode: EXIT_CODES.terminated,
      report: false,
      deleteVariants: false,
    }),
    earlier: plan({
      outcome: 'interrupted',
      exitCode: EXIT_CODES.terminated,
      report: false,
      deleteVariants: false,
    }),
  },
  // Nothing to process any more; what this attempt wrote belongs to no image.
  gone: {
    final: plan({ outcome: 'gone', exitCode: EXIT_CODES.ok, report: false, deleteVariants: true }),
    earlier: plan({
      outcome: 'gone',
      exitCode: EXIT_CODES.ok,
      report: false,
      deleteVariants: true,
    }),
  },
  // A newer generation owns the image; its own attempt reports.
  stale: {
    final: plan({
      outcome: 'stale',
      exitCode: EXIT_CODES.ok,
      report: false,
      deleteVariants: false,
    }),
    earlier: plan({
      outcome: 'stale',
      exitCode: EXIT_CODES.ok,
      report: false,
      deleteVariants: false,
    }),
  },
  // A retry may succeed: only the last attempt reports (best effort), and every one exits 1.
  retryable: {
    final: plan({
      outcome: 'retryable',
      exitCode: EXIT_CODES.retry,
      report: 'callback-deadline',
      deleteVariants: false,
    }),
    earlier: plan({
      outcome: 'retryable',
      exitCode: EXIT_CODES.retry,
      report: false,
      deleteVariants: false,
    }),
  },
  // Retrying cannot help: report at once and exit 0; if the report fails, exit 1 so a retry
  // (or the workflow's backstop after the last) records it.
  permanent: {
    final: plan({
      outcome: 'failed-permanent',
      exitCode: EXIT_CODES.ok,
      report: 'callback-deadline',
      unreported: { outcome: 'failed-unreported', exitCode: EXIT_CODES.retry },
      deleteVariants: false,
    }),
    earlier: plan({
      outcome: 'failed-permanent',
      exitCode: EXIT_CODES.ok,
      report: 'callback-deadline',
      unreported: { outcome: 'failed-unreported', exitCode: EXIT_CODES.retry },
      deleteVariants: false,
    }),
  },
};

/** The plan for a failure of `kind` on a final or an earlier attempt. */
export function planFailure(kind: FailureKind, final: boolean): FailurePlan {
  const row = FAILURE_TABLE[kind];
  return final ? row.final : row.earlier;
}

/**
 * How an image of a batch task ends when the task was stopped (SIGTERM)
 * before it began the image: not reported (the retry takes it; after the last
 * attempt the workflow's backstop reports it failed), and the task exits as
 * terminated.
 */
export const NOT_REACHED = { outcome: 'not-reached', exitCode: EXIT_CODES.terminated } as const;

/**
 * Most urgent first: the exit status of a task that ran several images is the
 * first of these that any image ended with. A stopped task says so (143); else
 * one image that needs a retry makes Cloud Run retry the whole task (1), whose
 * next attempt skips the images already settled by their job spec; else 0.
 */
export const TASK_EXIT_PRECEDENCE: readonly ExitCode[] = [
  EXIT_CODES.terminated,
  EXIT_CODES.retry,
  EXIT_CODES.config,
  EXIT_CODES.ok,
];

/** The exit status of a task whose images ended with `codes` (0 for none). */
export function taskExitCode(codes: readonly ExitCode[]): ExitCode {
  return TASK_EXIT_PRECEDENCE.find((code) => codes.includes(code)) ?? EXIT_CODES.ok;
}

/**
 * The exit status when the task could not even start (its adapters failed to
 * open): retryable (a store or metadata server not reachable yet) → 1, so
 * Cloud Run tries again; anything else is the deployment's → 2.
 */
export function startFailureExitCode(error: AppError): ExitCode {
  return error.retryable ? EXIT_CODES.retry : EXIT_CODES.config;
}
