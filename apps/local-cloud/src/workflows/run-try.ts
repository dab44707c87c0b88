/**
 * `try` with `retry` and `except`
 * (https://cloud.google.com/workflows/docs/reference/syntax/retrying and
 * …/catching-errors). The `except` block is a scope of its own: "This local
 * scoping also applies to any variable created inside an except block"
 * (https://cloud.google.com/workflows/docs/reference/syntax/variables#variable-scope).
 */
import { coerceError } from '@slideshow/runtime';
import { sleep } from './calls.ts';
import { taggedError, WorkflowRuntimeError } from './errors.ts';
import type { Execution, Outcome } from './execute.ts';
import type { RetrySpec, Template, TrySpec } from './program.ts';
import { builtinPredicate, DEFAULT_BACKOFF } from './retry.ts';
import { type Frame, isNum } from './scope.ts';
import { fromJs, typeName, type WfValue } from './values.ts';

async function retryPolicy(run: Execution, spec: RetrySpec, frame: Frame) {
  const num = async (t: Template | undefined, fallback: number) => {
    if (t === undefined) return fallback;
    const v = await run.value(t, frame);
    if (!isNum(v))
      throw taggedError('TypeError', `retry settings must be numbers (line ${spec.line})`);
    return Number(v);
  };
  return {
    maxRetries: await num(spec.maxRetries, DEFAULT_BACKOFF.maxRetries),
    initialDelay: await num(spec.initialDelay, DEFAULT_BACKOFF.initialDelay),
    maxDelay: await num(spec.maxDelay, DEFAULT_BACKOFF.maxDelay),
    multiplier: await num(spec.multiplier, DEFAULT_BACKOFF.multiplier),
  };
}

async function shouldRetry(
  run: Execution,
  spec: RetrySpec,
  raised: WfValue,
  frame: Frame,
): Promise<boolean> {
  const predicate =
    spec.predicate ??
    (spec.policy === 'http.default_retry_non_idempotent'
      ? 'http.default_retry_predicate_non_idempotent'
      : 'http.default_retry_predicate');
  const sub = run.program.subworkflows.get(predicate);
  if (sub === undefined) return builtinPredicate(predicate, raised);
  const first = sub.params[0];
  if (first === undefined)
    throw taggedError('TypeError', `retry predicate ${sub.name} needs one parameter`);
  const verdict = await run.callSubworkflow(sub, new Map([[first.name, raised]]), spec.line, frame);
  if (typeof verdict !== 'boolean') {
    throw taggedError(
      'TypeError',
      `retry predicate ${sub.name} must return a boolean, got ${typeName(verdict)}`,
    );
  }
  return verdict;
}

/** Runs the `try` body, retrying as the policy says, then hands an error to `except`. */
export async function runTry(run: Execution, spec: TrySpec, frame: Frame): Promise<Outcome> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await run.runBody(spec.body, frame);
    } catch (error) {
      if (!(error instanceof WorkflowRuntimeError)) throw coerceError(error);
      if (error.fatal) throw error;
      const raised = fromJs(error.raised);
      if (spec.retry !== undefined) {
        const policy = await retryPolicy(run, spec.retry, frame);
        if (attempt < policy.maxRetries && (await shouldRetry(run, spec.retry, raised, frame))) {
          const delay = Math.min(
            policy.initialDelay * policy.multiplier ** attempt,
            policy.maxDelay,
          );
          await sleep(run.ctx, delay * 1000);
          continue;
        }
      }
      const except = spec.except;
      if (except === undefined) throw error;
      return frame.withScope(() => {
        if (except.as !== undefined) frame.setLocal(except.as, raised);
        return run.runSteps(except.steps, frame);
      });
    }
  }
}
