/**
 * The static rules of the supported subset: which keys a step, a condition and
 * a call may use, and which functions an expression may call.
 */
import { WorkflowSyntaxError } from './errors.ts';
import type { Expr } from './expression.ts';
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
