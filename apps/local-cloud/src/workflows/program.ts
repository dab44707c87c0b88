/**
 * The parsed form of a workflow definition that parse.ts builds and
 * execute.ts runs. Every node keeps its YAML line for error messages.
 */
import type { Expr } from './expression.ts';
import type { WfValue } from './values.ts';

/** A YAML value with `${…}` expressions compiled (also in map keys). */
export type Template =
  | { readonly k: 'lit'; readonly v: WfValue }
  | { readonly k: 'expr'; readonly e: Expr; readonly text: string; readonly line: number }
  | { readonly k: 'list'; readonly items: readonly Template[] }
  | {
      readonly k: 'map';
      readonly entries: readonly { readonly key: string | Expr; readonly value: Template }[];
    };

/** One `name[idx].key: value` item of an `assign` list. */
export interface AssignItem {
  readonly name: string;
  readonly path: readonly (
    | { readonly k: 'key'; readonly name: string }
    | { readonly k: 'index'; readonly e: Expr }
  )[];
  readonly value: Template;
  readonly line: number;
}

/** A `call` step. */
export interface CallSpec {
  readonly fn: string;
  readonly args?: Template;
  readonly result?: string;
}

/** A `for` loop. */
export interface ForSpec {
  readonly value: string;
  readonly index?: string;
  readonly in?: Template;
  readonly range?: Template;
  readonly steps: readonly Step[];
}

/** One branch of a `parallel` step: a named list of steps. */
export interface Branch {
  readonly name: string;
  readonly line: number;
  readonly steps: readonly Step[];
}

/**
 * A `parallel` step (https://cloud.google.com/workflows/docs/reference/syntax/parallel-steps):
 * `branches` or a `for` whose iterations run concurrently, the `shared`
 * variables branches may write, and an optional `concurrency_limit`.
 */
export interface ParallelSpec {
  readonly line: number;
  readonly shared: readonly string[];
  readonly concurrencyLimit?: Template;
  readonly branches?: readonly Branch[];
  readonly for?: ForSpec;
}

/** A `retry` policy: a built-in one by name, or the parts of a custom one. */
export interface RetrySpec {
  readonly line: number;
  /** http.default_retry, http.default_retry_non_idempotent */
  readonly policy?: string;
  /** A built-in predicate name or a subworkflow name. */
  readonly predicate?: string;
  readonly maxRetries?: Template;
  readonly initialDelay?: Template;
  readonly maxDelay?: Template;
  readonly multiplier?: Template;
}

/** A `try` step with its `retry` and `except`. */
export interface TrySpec {
  readonly body: StepBody;
  readonly retry?: RetrySpec;
  readonly except?: { readonly as?: string; readonly steps: readonly Step[] };
}

/** One `switch` condition; the parts run in the order assign, steps, raise/return, next. */
export interface Condition {
  readonly line: number;
  readonly condition: Template;
  readonly body: StepBody;
}

/** What a step does; parts run in the order assign, call/switch/for/parallel/steps/try, raise/return, next. */
export interface StepBody {
  readonly line: number;
  readonly assign?: readonly AssignItem[];
  readonly call?: CallSpec;
  readonly switch?: readonly Condition[];
  readonly for?: ForSpec;
  readonly parallel?: ParallelSpec;
  readonly steps?: readonly Step[];
  readonly try?: TrySpec;
  readonly raise?: Template;
  readonly return?: Template;
  readonly next?: string;
}

/** Where a step is in the source, for stack traces (Google's `Position`: line, column, length). */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
  /** Length of the step's source text in bytes. */
  readonly length: number;
}

/** A named step. */
export interface Step {
  readonly name: string;
  readonly line: number;
  readonly position: SourcePosition;
  readonly body: StepBody;
}

/** A subworkflow parameter, optionally with a default. */
export interface Param {
  readonly name: string;
  readonly default?: Template;
}

/** `main` or another subworkflow. */
export interface Subworkflow {
  readonly name: string;
  readonly line: number;
  readonly params: readonly Param[];
  readonly steps: readonly Step[];
}
