/**
 * The end of a task that threw: the error policy of exit-policy.ts applied —
 * what is logged at which level, which variants are dropped, whether and
 * with which deadline `failed` is reported, and the exit status.
 */
// The error-code list alone (no zod): the contracts' schemas stay off the task's first path.
import { isImageErrorCode } from '@slideshow/contracts/error-codes';
import { type AppError, coerceError, type Logger } from '@slideshow/runtime';
import type { ObjectWriter } from '@slideshow/storage';
import type { BackendClient } from './backend-client.ts';
import type { ProcessorConfig } from './config.ts';
import {
  type FailureKind,
  failureKind,
  planFailure,
  TERMINATION_REPORT_MS,
} from './exit-policy.ts';
import type { RunResult } from './run.ts';

/** What settling a thrown task needs: the task's parts, the error, and how far the task got. */
export interface FailureContext {
  config: ProcessorConfig;
  backend: BackendClient;
  log: Logger;
  error: AppError;
  /** The generation this task worked on, once the job spec was read. */
  generation: number | undefined;
  variantPrefix: string | undefined;
  final: boolean;
  signal: AbortSignal;
  store: ObjectWriter;
}

/** What each kind of failure logs (exit-policy.ts decides what it does). */
const FAILURE_LOG: Record<FailureKind, { level: 'warn' | 'error'; message: string }> = {
  terminated: { level: 'error', message: 'terminated before finishing' },
  // A requested shutdown is no error; WARN because the image is left for the next start.
  interrupted: {
    level: 'warn',
    message: 'stopped by shutdown (SIGINT); its image is processed again on the next start',
  },
  gone: { level: 'warn', message: 'image no longer exists; nothing to do' },
  stale: { level: 'warn', message: 'a newer generation owns this image; stopping' },
  retryable: { level: 'error', message: 'retryable failure' },
  permanent: { level: 'error', message: 'permanent failure' },
};

/** Applies the error policy (exit-policy.ts) to an error thrown by the task. */
export async function settleFailure(ctx: FailureContext): Promise<RunResult> {
  const { error, config } = ctx;
  const kind = failureKind(error, ctx.signal.aborted);
  const plan = planFailure(kind, ctx.final);
  // Every line of a failure carries its code; a shutdown is no failure of the image, and its
  // line names the signal instead of the abort's TIMEOUT (the code a SIGTERM's report carries).
  const log = kind === 'interrupted' ? ctx.log : ctx.log.child({ code: error.code });
  // A refused image (corrupt, too many pixels, …) is the upload's fault, not the system's: a
  // warning with its code, not an ERROR with stacks that pages an operator and fills a terminal.
  const { level, message } =
    kind === 'permanent' && isImageErrorCode(error.code)
      ? { level: 'warn' as const, message: 'image refused (permanent)' }
      : FAILURE_LOG[kind];
  log[level](message, {
    ...(kind === 'interrupted'
      ? { signal: error.context.signal }
      : level === 'error'
        ? { error }
        : { error: error.message }),
    ...(kind === 'terminated' || kind === 'retryable' ? { final: ctx.final } : {}),
    ...(kind === 'retryable' ? { maxRetries: config.maxRetries } : {}),
  });
  if (plan.deleteVariants && ctx.variantPrefix) {
    // Nothing to process any more: drop anything this attempt wrote.
    await ctx.store.deletePrefix(ctx.variantPrefix).catch((e: unknown) => {
      log.warn('could not delete variants of a deleted image', { error: coerceError(e) });
    });
  }
  if (plan.report !== false) {
    const deadline =
      plan.report === 'termination' ? TERMINATION_REPORT_MS : config.callbackDeadlineMs;
    const reported = await report({ ...ctx, log }, deadline);
    if (!reported && plan.unreported) return { ...plan.unreported, error };
  }
  return { exitCode: plan.exitCode, outcome: plan.outcome, error };
}

/** POSTs `failed`; never throws. Returns whether the backend accepted the report. */
async function report(ctx: FailureContext, deadlineMs: number): Promise<boolean> {
  const { error, config } = ctx;
  if (ctx.generation === undefined) {
    // A report must name its generation, and this task learnt none (no TARGET_GENERATION and
    // no job spec): exiting non-zero leaves the verdict to a retry or the workflow's backstop.
    ctx.log.error('could not report the failure: the generation is unknown', { error });
    return false;
  }
  try {
    await ctx.backend.failed(
      config.imageId,
      {
        generation: ctx.generation,
        execution: config.execution,
        attempt: config.attempt,
        code: error.code,
        message: error.message.slice(0, 2000),
        source: 'processor',
      },
      { deadlineMs },
    );
    ctx.log.info('failure reported', { code: error.code });
    return true;
  } catch (thrown) {
    const reportError = coerceError(thrown);
    // A stale or deleted image needs no report: someone else owns the outcome.
    const moot = reportError.code === 'STALE_GENERATION' || reportError.context.status === 404;
    ctx.log[moot ? 'warn' : 'error']('could not report the failure', { error: reportError });
    return moot;
  }
}
