/**
 * The static rules of the supported subset: which keys a step, a condition and
 * a call may use, and which functions an expression may call.
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
  'steps',
  'try',
  'raise',
  'return',
] as const;
/** Allowed condition keys. */
export const CONDITION_KEYS = new Set(['condition', 'next', 'steps', 'return', 'raise', 'assign']);
/** Allowed call targets. */
export const CALL_TARGETS = new Set([
  'http.get',
  'http.post',
  'http.put',
  'http.patch',
  'http.delete',
  'http.request',
  'sys.sleep',
  'sys.log',
  'sys.get_env',
  'sys.now',
]);
/** Built-in retry policies and predicates usable as `${…}` in `retry`. */
export const RETRY_POLICIES = new Set(['http.default_retry', 'http.default_retry_non_idempotent']);
/** Built-in retry predicates. */
export const RETRY_PREDICATES = new Set([
  'http.default_retry_predicate',
  'http.default_retry_predicate_non_idempotent',
  'retry.always',
  'retry.never',
]);

function children(e: Expr): Expr[] {
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

/** Throws "unsupported: function x (line N)" for a function outside the standard library subset. */
export function checkFunctions(e: Expr, line: number): void {
  if (e.k === 'call' && !isExpressionFunction(e.fn)) {
    throw new WorkflowSyntaxError(`unsupported: function ${e.fn}`, line);
  }
  for (const child of children(e)) checkFunctions(child, line);
}

/** A subworkflow call or retry predicate seen while parsing, checked once every subworkflow is known. */
export interface PendingCall {
  readonly fn: string;
  readonly args: Template | undefined;
  readonly line: number;
  readonly predicate: boolean;
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
export function compileExpression(text: string, line: number): Expr {
  let e: Expr;
  try {
    e = parseExpression(text);
  } catch (error) {
    throw new WorkflowSyntaxError(
      `invalid expression ${text}: ${coerceError(error).message}`,
      line,
    );
  }
  checkFunctions(e, line);
  return e;
}

/** Every `next` names a step of the subworkflow, `end`, or (inside a for loop) `break`/`continue`. */
export function checkNextTargets(
  pending: readonly { target: string; line: number; inFor: boolean }[],
  stepNames: ReadonlySet<string>,
): void {
  for (const { target, line, inFor } of pending) {
    if (target === 'end') continue;
    if (target === 'break' || target === 'continue') {
      if (!inFor) throw new WorkflowSyntaxError(`next: ${target} outside a for loop`, line);
      continue;
    }
    if (!stepNames.has(target)) throw new WorkflowSyntaxError(`next: unknown step ${target}`, line);
  }
}
