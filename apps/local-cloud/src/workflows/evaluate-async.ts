/**
 * Expressions that call subworkflows. Google lets an expression call a
 * subworkflow with positional arguments, e.g. `${double_it(21) + 1}`
 * (https://cloud.google.com/workflows/docs/reference/syntax/subworkflows), and a
 * subworkflow runs steps, which wait. Such expressions are evaluated here,
 * asynchronously; every other expression stays synchronous (evaluate.ts), so
 * an `assign` without subworkflow calls runs without yielding and stays
 * atomic for parallel branches sharing its variables.
 */
import {
  binary,
  type EvalScope,
  evaluate,
  getIndex,
  getMember,
  logicalLeft,
  logicalRight,
  made,
  mapKey,
  unary,
} from './evaluate.ts';
import type { Expr } from './expression.ts';
import { exprChildren } from './parse-rules.ts';
import type { Template } from './program.ts';
import { callFunction } from './stdlib.ts';
import type { WfValue } from './values.ts';

/** What an expression with subworkflow calls needs besides variables: the subworkflows. */
export interface AsyncEvalScope extends EvalScope {
  isSubworkflow(name: string): boolean;
  callSubworkflow(name: string, args: WfValue[]): Promise<WfValue>;
}

const exprCache = new WeakMap<Expr, boolean>();
const templateCache = new WeakMap<Template, boolean>();

/** True when the expression calls a subworkflow (cached per parsed expression). */
export function callsSubworkflow(e: Expr, isSubworkflow: (name: string) => boolean): boolean {
  const cached = exprCache.get(e);
  if (cached !== undefined) return cached;
  const result =
    (e.k === 'call' && isSubworkflow(e.fn)) ||
    exprChildren(e).some((c) => callsSubworkflow(c, isSubworkflow));
  exprCache.set(e, result);
  return result;
}

/** True when any expression of the template calls a subworkflow. */
export function templateCallsSubworkflow(
  t: Template,
  isSubworkflow: (name: string) => boolean,
): boolean {
  const cached = templateCache.get(t);
  if (cached !== undefined) return cached;
  let result = false;
  if (t.k === 'expr') result = callsSubworkflow(t.e, isSubworkflow);
  else if (t.k === 'list') result = t.items.some((i) => templateCallsSubworkflow(i, isSubworkflow));
  else if (t.k === 'map') {
    result = t.entries.some(
      ({ key, value }) =>
        (typeof key !== 'string' && callsSubworkflow(key, isSubworkflow)) ||
        templateCallsSubworkflow(value, isSubworkflow),
    );
  }
  templateCache.set(t, result);
  return result;
}

/** Evaluates an expression that may call subworkflows, with the same rules as evaluate(). */
export async function evaluateAsync(e: Expr, scope: AsyncEvalScope): Promise<WfValue> {
  if (!callsSubworkflow(e, (n) => scope.isSubworkflow(n))) return evaluate(e, scope);
  switch (e.k) {
    case 'call': {
      const args: WfValue[] = [];
      for (const a of e.args) args.push(await evaluateAsync(a, scope));
      if (scope.isSubworkflow(e.fn)) return scope.callSubworkflow(e.fn, args);
      return callFunction(e.fn, args, scope);
    }
    case 'member':
      return getMember(await evaluateAsync(e.obj, scope), e.name);
    case 'index': {
      const obj = await evaluateAsync(e.obj, scope);
      return getIndex(obj, await evaluateAsync(e.index, scope));
    }
    case 'unary':
      return unary(e.op, await evaluateAsync(e.e, scope));
    case 'bin': {
      if (e.op === 'and' || e.op === 'or') {
        const l = logicalLeft(e.op, await evaluateAsync(e.l, scope));
        return l.done ? l.value : logicalRight(e.op, await evaluateAsync(e.r, scope));
      }
      const l = await evaluateAsync(e.l, scope);
      return made(binary(e.op, l, await evaluateAsync(e.r, scope)), scope);
    }
    case 'list': {
      const out: WfValue[] = [];
      for (const item of e.items) out.push(await evaluateAsync(item, scope));
      return made(out, scope);
    }
    case 'map': {
      const out = new Map<string, WfValue>();
      for (const [k, v] of e.entries) {
        const key = mapKey(await evaluateAsync(k, scope));
        out.set(key, await evaluateAsync(v, scope));
      }
      return made(out, scope);
    }
    default:
      return evaluate(e, scope);
  }
}
