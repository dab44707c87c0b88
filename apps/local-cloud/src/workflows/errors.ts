/**
 * The two error types of the Workflows engine: a definition that cannot be
 * deployed (WorkflowSyntaxError, thrown by parseWorkflow) and an error raised
 * while a workflow runs (WorkflowRuntimeError, carrying the Workflows error map
 * a workflow's `except` sees). Tags follow
 * https://cloud.google.com/workflows/docs/reference/syntax/error-types
 */

/** A definition problem found at parse time; the message names the construct and the line. */
export class WorkflowSyntaxError extends Error {
  readonly line?: number;
  readonly column?: number;

  constructor(message: string, line?: number, column?: number) {
    super(line === undefined ? message : `${message} (line ${line})`);
    this.name = 'WorkflowSyntaxError';
    if (line !== undefined) this.line = line;
    if (column !== undefined) this.column = column;
  }
}

/** Error tags Google documents; the engine raises these. */
export type ErrorTag =
  | 'AuthError'
  | 'ConnectionError'
  | 'ConnectionFailedError'
  | 'HttpError'
  | 'IndexError'
  | 'KeyError'
  | 'OperationError'
  | 'RecursionError'
  | 'ResourceLimitError'
  | 'SystemError'
  | 'TimeoutError'
  | 'TypeError'
  | 'UnhandledBranchError'
  | 'ValueError'
  | 'ZeroDivisionError';

/**
 * An error raised inside a running workflow. `value` is always a map
 * ({message, tags, …}) in plain JSON form; `raised` is what the workflow raised
 * (a string stays a string, as Google's `except` sees it).
 */
export class WorkflowRuntimeError extends Error {
  readonly value: Record<string, unknown>;
  readonly raised: unknown;
  /** Set for errors no `except` may catch (step limit, cancellation). */
  readonly fatal: boolean;
  /** Where it was raised, e.g. "main.run_job (line 12)"; for the execution's error context, not part of the map. */
  location?: string;

  constructor(raised: unknown, options: { fatal?: boolean; cause?: unknown } = {}) {
    const value = toErrorMap(raised);
    super(
      typeof value.message === 'string' ? value.message : JSON.stringify(value),
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'WorkflowRuntimeError';
    this.value = value;
    this.raised = raised;
    this.fatal = options.fatal ?? false;
  }
}

function toErrorMap(raised: unknown): Record<string, unknown> {
  if (raised !== null && typeof raised === 'object' && !Array.isArray(raised)) {
    return raised as Record<string, unknown>;
  }
  return { message: typeof raised === 'string' ? raised : JSON.stringify(raised), tags: [] };
}

/** Builds the runtime error for a tagged failure, e.g. raiseTagged('KeyError', 'key not found: x'). */
export function taggedError(
  tag: ErrorTag,
  message: string,
  extra: Record<string, unknown> = {},
): WorkflowRuntimeError {
  return new WorkflowRuntimeError({ message, tags: [tag], ...extra });
}

/** The error that ends a cancelled execution; no `except` can catch it. */
export function cancelledError(): WorkflowRuntimeError {
  return new WorkflowRuntimeError(
    { message: 'execution cancelled', tags: ['CancelledError'] },
    { fatal: true },
  );
}

/** Records the step an error came from (the innermost one wins) and returns the error to rethrow. */
export function atStep(error: unknown, location: string): unknown {
  if (error instanceof WorkflowRuntimeError && error.location === undefined)
    error.location = location;
  return error;
}
