/**
 * The parsed form of a workflow definition that parse.ts builds and
 * execute.ts runs. Every node keeps its YAML line for error messages.
 */
import type { Expr } from './expression.ts';
import type { WfValue } from './values.ts';

/** A YAML value with `${…}` expressions compiled (also in map keys). */
export type Template =
  | { readonly k: 'lit'; readonly v: WfValue }
  | { readonly k: 'expr'; readonly e: Expr; readonly text: string }
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

/** What a step does; parts run in the order assign, call/switch/for/steps/try, raise/return, next. */
export interface StepBody {
  readonly line: number;
  readonly assign?: readonly AssignItem[];
  readonly call?: CallSpec;
  readonly switch?: readonly Condition[];
  readonly for?: ForSpec;
  readonly steps?: readonly Step[];
  readonly try?: TrySpec;
  readonly raise?: Template;
  readonly return?: Template;
  readonly next?: string;
}

/** A named step. */
export interface Step {
  readonly name: string;
  readonly line: number;
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
