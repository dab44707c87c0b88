/**
 * The two error types of the Workflows engine: a definition that cannot be
 * deployed (WorkflowSyntaxError, thrown by parseWorkflow) and an error raised
 * while a workflow runs (WorkflowRuntimeError, carrying the Workflows error map
 * a workflow's `except` sees). Tags follow
 * https://cloud.google.com/workflows/docs/reference/syntax/error-types
 */
import type { SourcePosition } from './program.ts';

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
  | 'ExecutionError'
  | 'HttpError'
  | 'IndexError'
  | 'KeyError'
  | 'OperationError'
  | 'ParallelNestingError'
  | 'RecursionError'
  | 'ResourceLimitError'
  | 'SystemError'
  | 'TimeoutError'
  | 'TypeError'
  | 'UnhandledBranchError'
  | 'ValueError'
  | 'ZeroDivisionError';

/** One frame of an error's stack trace: the step, its subworkflow ("routine") and its place. */
export interface StackElement {
  readonly step: string;
  readonly routine: string;
  readonly position: SourcePosition;
}

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
  /**
   * Where it was raised, innermost first: the failing step of each subworkflow
   * call it went through (the execution's `error.stackTrace`; not part of the map).
   */
  readonly trace: StackElement[] = [];
  /** Set once the current subworkflow call has recorded its step in `trace`. */
  frameRecorded = false;

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

  /** The innermost step, e.g. "main.run_job (line 12)", or undefined before any step saw it. */
  get location(): string | undefined {
    const top = this.trace[0];
    return top === undefined ? undefined : `${top.routine}.${top.step} (line ${top.position.line})`;
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

/** Records the failing step of the current subworkflow call (once per call) and returns the error. */
export function atStep(error: unknown, element: StackElement): unknown {
  if (error instanceof WorkflowRuntimeError && !error.frameRecorded) {
    error.trace.push(element);
    error.frameRecorded = true;
  }
  return error;
}

/** Lets the calling subworkflow record its own step as the error leaves a call. */
export function leftCall(error: unknown): void {
  if (error instanceof WorkflowRuntimeError) error.frameRecorded = false;
}

/**
 * The Workflow Executions API's `Error` of an uncaught error
 * (https://cloud.google.com/workflows/docs/reference/executions/rest/v1/projects.locations.workflows.executions#Error):
 * `payload` is the raised value as JSON (a raised string stays a JSON
 * string), `context` its message and the step it came from, formatted like
 * Google's 'in step "x", routine "main", line: 12'
 * (https://cloud.google.com/workflows/docs/access-execution-results), and
 * `stackTrace.elements` the steps, innermost first, positions as int64 strings.
 */
export function describeError(error: WorkflowRuntimeError): {
  payload: string;
  context: string;
  stackTrace: { elements: unknown[] };
} {
  const raised = error.raised;
  const isMap = raised !== null && typeof raised === 'object' && !Array.isArray(raised);
  const payload = JSON.stringify(isMap ? error.value : (raised ?? null));
  const message = typeof error.value.message === 'string' ? error.value.message : payload;
  const top = error.trace[0];
  const context =
    top === undefined
      ? message
      : `${message}\nin step "${top.step}", routine "${top.routine}", line: ${top.position.line}`;
  return {
    payload,
    context,
    stackTrace: {
      elements: error.trace.map((el) => ({
        step: el.step,
        routine: el.routine,
        position: {
          line: String(el.position.line),
          column: String(el.position.column),
          length: String(el.position.length),
        },
      })),
    },
  };
}
