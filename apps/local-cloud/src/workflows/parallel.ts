/**
 * `for` items and `parallel` steps
 * (https://cloud.google.com/workflows/docs/reference/syntax/parallel-steps).
 * Branches and iterations run concurrently on the event loop, so their HTTP
 * calls, connector calls and `sys.sleep` overlap; at most `concurrency_limit`
 * run at once (default and ceiling 20, Google's limit of concurrent branches
 * and iterations per execution, https://cloud.google.com/workflows/quotas),
 * the others wait their turn. Each branch or iteration has its own scope for
 * new variables; `shared` variables are the enclosing scope's own, so every
 * branch sees every write. An assignment without a subworkflow call in its
 * expression runs without yielding, so it is atomic. With `continueAll` (the
 * only policy) an unhandled error ends its branch only; when all have ended,
 * the step raises UnhandledBranchError listing them.
 */
import { describeError, taggedError, WorkflowRuntimeError } from './errors.ts';
import type { Execution, Outcome } from './execute.ts';
import type { ForSpec, ParallelSpec, Template } from './program.ts';
import { type Frame, isNum, rangeValues } from './scope.ts';
import { describe, typeName, type WfValue } from './values.ts';

/** Google's limits (quotas page): nesting depth of parallel steps, concurrent branches, unhandled errors. */
export const PARALLEL_LIMITS = { maxDepth: 2, maxConcurrency: 20, maxUnhandled: 100 } as const;

/** The items a `for` iterates: a list (`in`; iterate a map through `keys()`), or an inclusive `range`. */
export async function loopItems(
  run: Execution,
  spec: ForSpec,
  frame: Frame,
): Promise<Iterable<WfValue>> {
  if (spec.in !== undefined) {
    const list = await run.value(spec.in, frame);
    if (!Array.isArray(list))
      throw taggedError('TypeError', `for in needs a list, got ${typeName(list)}`);
    return [...list];
  }
  const range = await run.value(spec.range as Template, frame);
  const [start, end] = Array.isArray(range) ? range : [];
  if (!Array.isArray(range) || range.length !== 2 || !isNum(start) || !isNum(end)) {
    throw taggedError('TypeError', 'for range needs a list of two numbers [start, end]');
  }
  return rangeValues(start, end);
}

async function concurrency(run: Execution, spec: ParallelSpec, frame: Frame): Promise<number> {
  if (spec.concurrencyLimit === undefined) return PARALLEL_LIMITS.maxConcurrency;
  const v = await run.value(spec.concurrencyLimit, frame);
  if (typeof v !== 'bigint') {
    throw taggedError('TypeError', `concurrency_limit must be an integer, got ${typeName(v)}`);
  }
  if (v < 1n)
    throw taggedError('ValueError', `concurrency_limit must be positive, got ${describe(v)}`);
  return Math.min(Number(v), PARALLEL_LIMITS.maxConcurrency);
}

interface Task {
  readonly id: string;
  run(): Promise<Outcome>;
}

/**
 * The branches, or the iterations one at a time as workers take them: a
 * `range` of 10^12 is never made into a list, and the step limit ends it.
 */
async function tasksOf(run: Execution, spec: ParallelSpec, frame: Frame): Promise<Iterator<Task>> {
  if (spec.branches !== undefined) {
    return spec.branches
      .map((branch) => ({
        id: branch.name,
        run: () => inBranch(frame, (own) => run.runSteps(branch.steps, own)),
      }))
      .values();
  }
  const loop = spec.for as ForSpec;
  const items = await loopItems(run, loop, frame);
  return (function* () {
    let i = 0;
    for (const item of items) {
      const index = i++;
      yield {
        id: String(index),
        run: () =>
          inBranch(frame, (iteration) => {
            iteration.setLocal(loop.value, item);
            if (loop.index !== undefined) iteration.setLocal(loop.index, BigInt(index));
            return run.runSteps(loop.steps, iteration);
          }),
      };
    }
  })();
}

/** Runs a branch or iteration in a frame of its own, whose new variables are given back at its end. */
async function inBranch(frame: Frame, work: (own: Frame) => Promise<Outcome>): Promise<Outcome> {
  const own = frame.fork();
  try {
    return await work(own);
  } finally {
    own.release();
  }
}

/** The error a parallel step raises when branches or iterations failed (error types reference). */
function unhandledBranchError(
  failures: { index: number; id: string; error: WorkflowRuntimeError }[],
  truncated: boolean,
): WorkflowRuntimeError {
  const sorted = [...failures].sort((a, b) => a.index - b.index);
  return new WorkflowRuntimeError({
    message:
      'UnhandledBranchError: One or more branches or iterations encountered an unhandled runtime error',
    tags: ['UnhandledBranchError'],
    branches: sorted.map((f) => ({ id: f.id, error: describeError(f.error) })),
    truncated,
  });
}

/** Runs a parallel step to its end; throws UnhandledBranchError, or the first fatal error. */
export async function runParallel(run: Execution, spec: ParallelSpec, frame: Frame): Promise<void> {
  if (frame.parallelDepth >= PARALLEL_LIMITS.maxDepth) {
    throw taggedError(
      'ParallelNestingError',
      `parallel steps can be nested ${PARALLEL_LIMITS.maxDepth} deep at most (line ${spec.line})`,
    );
  }
  const limit = await concurrency(run, spec, frame);
  const tasks = await tasksOf(run, spec, frame);
  const failures: { index: number; id: string; error: WorkflowRuntimeError }[] = [];
  let fatal: unknown;
  let next = 0;
  let exhausted = false;
  const take = (): Task | undefined => {
    if (exhausted) return undefined;
    const taken = tasks.next();
    if (taken.done === true) exhausted = true;
    return taken.done === true ? undefined : taken.value;
  };
  const worker = async () => {
    while (fatal === undefined && failures.length < PARALLEL_LIMITS.maxUnhandled) {
      const task = take();
      if (task === undefined) return;
      const index = next++;
      try {
        const outcome = await task.run();
        if (outcome.t !== 'normal' && outcome.t !== 'continue') {
          throw taggedError('SystemError', `a parallel branch cannot end with ${outcome.t}`);
        }
      } catch (error) {
        if (error instanceof WorkflowRuntimeError && !error.fatal) {
          failures.push({ index, id: task.id, error });
        } else {
          fatal ??= error;
          run.stop(error);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  if (fatal !== undefined) throw fatal;
  if (failures.length > 0) {
    throw unhandledBranchError(failures, take() !== undefined);
  }
}
