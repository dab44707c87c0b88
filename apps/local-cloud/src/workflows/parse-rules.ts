/**
 * The static rules Google applies at deploy time and the supported subset:
 * which keys a step, a condition and a call may use, which functions an
 * expression may call, valid names, `next` targets and call arguments.
 * Each failure is a WorkflowSyntaxError naming the line.
 */

import { coerceError } from '@slideshow/runtime';
import { WorkflowSyntaxError } from './errors.ts';
import { type Expr, parseExpression } from './expression.ts';
import type { Subworkflow, Template } from './program.ts';
import { isExpressionFunction } from './stdlib.ts';

/** Allowed step keys. */
export const STEP_KEYS = new Set([
  'assign',
  'call',
  'args',
  'result',
  'switch',
  'for',
  'parallel',
  'steps',
  'try',
  'retry',
  'except',
  'raise',
  'return',
  'next',
]);
/** Allowed actions. */
export const ACTIONS = [
  'assign',
  'call',
  'switch',
  'for',
  'parallel',
  'steps',
  'try',
  'raise',
  'return',
] as const;
/** Allowed condition keys. */
export const CONDITION_KEYS = new Set(['condition', 'next', 'steps', 'return', 'raise', 'assign']);
/** Built-in retry policies and predicates usable as `${…}` in `retry`. */
export const RETRY_POLICIES = new Set(['http.default_retry', 'http.default_retry_non_idempotent']);
/** Built-in retry predicates. */
export const RETRY_PREDICATES = new Set([
  'http.default_retry_predicate',
  'http.default_retry_predicate_non_idempotent',
  'retry.always',
  'retry.never',
]);

/** The sub-expressions of an expression. */
export function exprChildren(e: Expr): Expr[] {
  switch (e.k) {
    case 'call':
      return [...e.args];
    case 'member':
      return [e.obj];
    case 'index':
      return [e.obj, e.index];
    case 'unary':
      return [e.e];
    case 'bin':
      return [e.l, e.r];
    case 'list':
      return [...e.items];
    case 'map':
      return e.entries.flat();
    default:
      return [];
  }
}

/**
 * Checks every function an expression calls: a standard-library function or a
 * subworkflow (Google lets expressions call subworkflows with positional
 * arguments); subworkflow calls are recorded for the argument check.
 */
function checkFunctions(
  e: Expr,
  line: number,
  subworkflows: ReadonlySet<string>,
  pending: PendingCall[],
): void {
  if (e.k === 'call') {
    if (subworkflows.has(e.fn)) {
      pending.push({ fn: e.fn, positional: e.args.length, line, predicate: false });
    } else if (!isExpressionFunction(e.fn)) {
      throw new WorkflowSyntaxError(
        e.fn.includes('.')
          ? `unsupported: function ${e.fn}`
          : `undefined function or subworkflow ${e.fn}`,
        line,
      );
    }
  }
  for (const child of exprChildren(e)) checkFunctions(child, line, subworkflows, pending);
}

/** A subworkflow call or retry predicate seen while parsing, checked once every subworkflow is known. */
export interface PendingCall {
  readonly fn: string;
  /** The `args` of a call step. */
  readonly args?: Template | undefined;
  /** The number of positional arguments of a call in an expression. */
  readonly positional?: number;
  readonly line: number;
  readonly predicate: boolean;
}

function checkPositional(sub: Subworkflow, count: number, line: number): void {
  if (count > sub.params.length) {
    throw new WorkflowSyntaxError(
      `${sub.name} takes ${sub.params.length} argument(s) but ${count} were given`,
      line,
    );
  }
  for (const p of sub.params.slice(count)) {
    if (p.default === undefined) {
      throw new WorkflowSyntaxError(`call ${sub.name}: missing argument ${p.name}`, line);
    }
  }
}

/** Google refuses unknown or missing arguments at deploy time; so do we (for literal args maps). */
export function checkSubworkflowCalls(
  pendingCalls: readonly PendingCall[],
  subworkflows: ReadonlyMap<string, Subworkflow>,
): void {
  for (const call of pendingCalls) {
    const sub = subworkflows.get(call.fn);
    if (sub === undefined) continue;
    if (call.predicate) {
      if (sub.params.length !== 1) {
        throw new WorkflowSyntaxError(
          `retry predicate ${sub.name} must take exactly one parameter`,
          call.line,
        );
      }
      continue;
    }
    if (call.positional !== undefined) {
      checkPositional(sub, call.positional, call.line);
      continue;
    }
    if (call.args !== undefined && call.args.k !== 'map') continue;
    const names = (call.args?.entries ?? []).map((e) => e.key);
    if (names.some((n) => typeof n !== 'string')) continue;
    for (const name of names as string[]) {
      if (!sub.params.some((p) => p.name === name)) {
        throw new WorkflowSyntaxError(`${sub.name} has no parameter ${name}`, call.line);
      }
    }
    for (const p of sub.params) {
      if (p.default === undefined && !names.includes(p.name)) {
        throw new WorkflowSyntaxError(`call ${sub.name}: missing argument ${p.name}`, call.line);
      }
    }
  }
}

/** Parses the text of a `${…}` and checks its functions; errors carry the YAML line. */
export function compileExpression(
  text: string,
  line: number,
  subworkflows: ReadonlySet<string> = new Set(),
  pending: PendingCall[] = [],
): Expr {
  let e: Expr;
  try {
    e = parseExpression(text);
  } catch (error) {
    throw new WorkflowSyntaxError(
      `invalid expression ${text}: ${coerceError(error).message}`,
      line,
    );
  }
  checkFunctions(e, line, subworkflows, pending);
  return e;
}

/** Where a `next` may lead: the loop it is in and the parallel branch it is in. */
export interface NextContext {
  /** 'for' inside a for body; 'parallel-for' directly in a parallel for body; 'none' elsewhere. */
  readonly loop: 'none' | 'for' | 'parallel-for';
  /** The parallel branch or iteration the step is in (a unique id), if any. */
  readonly branch?: number;
}

/** A `next` seen while parsing a subworkflow. */
export interface PendingNext {
  readonly target: string;
  readonly line: number;
  readonly context: NextContext;
}

/**
 * Every `next` names a step of the subworkflow, `end`, or (inside a for loop)
 * `break`/`continue`. Inside a parallel branch or iteration a `next` stays in
 * it: the branch ends when its steps end (parallel steps reference).
 */
export function checkNextTargets(
  pending: readonly PendingNext[],
  stepBranches: ReadonlyMap<string, number | undefined>,
): void {
  for (const { target, line, context } of pending) {
    if (target === 'end') {
      if (context.branch !== undefined) {
        throw new WorkflowSyntaxError('next: end cannot leave a parallel branch', line);
      }
      continue;
    }
    if (target === 'break' || target === 'continue') {
      if (context.loop === 'none')
        throw new WorkflowSyntaxError(`next: ${target} outside a for loop`, line);
      if (context.loop === 'parallel-for' && target === 'break') {
        throw new WorkflowSyntaxError(
          'unsupported: next: break in a parallel for loop (use continue to end an iteration)',
          line,
        );
      }
      continue;
    }
    if (!stepBranches.has(target))
      throw new WorkflowSyntaxError(`next: unknown step ${target}`, line);
    if (stepBranches.get(target) !== context.branch) {
      throw new WorkflowSyntaxError(
        `next: ${target} is outside the parallel branch or iteration of this step`,
        line,
      );
    }
  }
}

/** Google: "Variable names must start with a letter or underscore, and must consist of only letters, digits, and underscores." */
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Words the expression language reserves (literals and operators), unusable as variable names. */
const RESERVED_WORDS = new Set([
  'true',
  'True',
  'TRUE',
  'false',
  'False',
  'FALSE',
  'null',
  'and',
  'AND',
  'or',
  'OR',
  'not',
  'NOT',
  'in',
]);
/** `next` targets with a meaning of their own: a step cannot take their name. */
const RESERVED_STEP_NAMES = new Set(['end', 'break', 'continue']);

/** A variable, parameter, loop or `as` name must be a valid name and not a reserved word. */
export function checkVariableName(name: string, what: string, line: number): void {
  if (!VARIABLE_NAME.test(name)) {
    throw new WorkflowSyntaxError(
      `invalid ${what} name ${JSON.stringify(name)}: use letters, digits and underscores, not starting with a digit`,
      line,
    );
  }
  if (RESERVED_WORDS.has(name)) {
    throw new WorkflowSyntaxError(`${what} name ${name} is a reserved word`, line);
  }
}

/** Step names are unique within a subworkflow and are not `end`, `break` or `continue`. */
export function checkStepName(
  name: string,
  seen: ReadonlyMap<string, unknown>,
  line: number,
): void {
  if (RESERVED_STEP_NAMES.has(name)) {
    throw new WorkflowSyntaxError(`step name ${name} is reserved for next`, line);
  }
  if (seen.has(name)) throw new WorkflowSyntaxError(`duplicate step name ${name}`, line);
}
