/**
 * Evaluates parsed expressions with Google's typing rules: `+` adds numbers or
 * concatenates two strings (anything else is a TypeError), `/` always yields a
 * double, `//` and `%` keep integers, integer overflow is a ValueError,
 * division by zero a ZeroDivisionError, a missing variable or key a KeyError.
 * What `+`, a list or map literal or a function makes must fit the memory
 * limit (memory.ts), so an expression cannot grow a value without bound.
 */
import { taggedError } from './errors.ts';
import type { BinaryOp, Expr } from './expression.ts';
import { DEFAULT_MAX_MEMORY_BYTES, withinLimit } from './memory.ts';
import { callFunction, type FunctionHost } from './stdlib.ts';
import { checkedInt, describe, isNumber, typeName, valuesEqual, type WfValue } from './values.ts';

/** What an expression can see: variables and the host for sys.* functions. */
export interface EvalScope extends FunctionHost {
  /** The variable's value; throws KeyError when it is not defined. */
  lookup(name: string): WfValue;
}

/** Evaluates an expression. */
export function evaluate(e: Expr, scope: EvalScope): WfValue {
  switch (e.k) {
    case 'lit':
      // The lexer lets 2^63 through for `-9223372036854775808`; on its own it overflows.
      return typeof e.v === 'bigint' ? checkedInt(e.v) : e.v;
    case 'var':
      return scope.lookup(e.name);
    case 'member':
      return getMember(evaluate(e.obj, scope), e.name);
    case 'index':
      return getIndex(evaluate(e.obj, scope), evaluate(e.index, scope));
    case 'call':
      return callFunction(
        e.fn,
        e.args.map((a) => evaluate(a, scope)),
        scope,
      );
    case 'unary':
      return unary(e.op, evaluate(e.e, scope));
    case 'bin':
      if (e.op === 'and' || e.op === 'or') {
        const l = logicalLeft(e.op, evaluate(e.l, scope));
        return l.done ? l.value : logicalRight(e.op, evaluate(e.r, scope));
      }
      return made(binary(e.op, evaluate(e.l, scope), evaluate(e.r, scope)), scope);
    case 'list':
      return made(
        e.items.map((item) => evaluate(item, scope)),
        scope,
      );
    case 'map': {
      const out = new Map<string, WfValue>();
      for (const [k, v] of e.entries) out.set(mapKey(evaluate(k, scope)), evaluate(v, scope));
      return made(out, scope);
    }
  }
}

/**
 * A value an operator or a literal made, or the memory error when it is larger
 * than any variable may be. `+` joins strings without copying them (V8 keeps
 * the two parts), so a string over the limit is refused before it is ever
 * flattened into gigabytes.
 */
export function made(value: WfValue, scope: EvalScope): WfValue {
  const limit = scope.maxValueBytes ?? DEFAULT_MAX_MEMORY_BYTES;
  return withinLimit(value, limit, typeof value === 'string' ? 'a string' : 'a list or map');
}

/** A map literal's key: a string, or TypeError. */
export function mapKey(key: WfValue): string {
  if (typeof key !== 'string') throw taggedError('TypeError', 'map keys must be strings');
  return key;
}

/** `not v` and `-v`. */
export function unary(op: 'not' | '-', v: WfValue): WfValue {
  if (op === 'not') {
    if (typeof v !== 'boolean') throw typeError('not', v);
    return !v;
  }
  if (typeof v === 'bigint') return checkedInt(-v);
  if (typeof v === 'number') return -v;
  throw typeError('-', v);
}

/** The left operand of `and`/`or`: done when it decides the result (short-circuit). */
export function logicalLeft(op: 'and' | 'or', l: WfValue): { done: boolean; value: WfValue } {
  if (typeof l !== 'boolean') throw typeError(op, l);
  return { done: op === 'and' ? !l : l, value: l };
}

/** The right operand of `and`/`or`, which is then the result. */
export function logicalRight(op: 'and' | 'or', r: WfValue): WfValue {
  if (typeof r !== 'boolean') throw typeError(op, r);
  return r;
}

function typeError(op: string, ...operands: WfValue[]): Error {
  return taggedError(
    'TypeError',
    `unsupported operand type(s) for ${op}: ${operands.map(typeName).join(', ')}`,
  );
}

/** `obj.name`: a map key (KeyError when absent). */
export function getMember(obj: WfValue, name: string): WfValue {
  if (!(obj instanceof Map)) {
    throw taggedError('TypeError', `cannot read key '${name}' of a ${typeName(obj)}`);
  }
  if (!obj.has(name)) throw taggedError('KeyError', `key not found: ${name}`);
  return obj.get(name) ?? null;
}

/** `obj[index]`: a list element or a map key. */
export function getIndex(obj: WfValue, index: WfValue): WfValue {
  if (Array.isArray(obj)) {
    if (typeof index !== 'bigint') {
      throw taggedError('TypeError', `list index must be an integer, got ${typeName(index)}`);
    }
    if (index < 0n || index >= BigInt(obj.length)) {
      throw taggedError('IndexError', `list index out of range: ${index}`);
    }
    return obj[Number(index)] ?? null;
  }
  if (obj instanceof Map) {
    if (typeof index !== 'string') {
      throw taggedError('TypeError', `map key must be a string, got ${typeName(index)}`);
    }
    return getMember(obj, index);
  }
  throw taggedError('TypeError', `cannot index a ${typeName(obj)}`);
}

function compare(op: BinaryOp, l: WfValue, r: WfValue): boolean {
  let c: number;
  if (isNumber(l) && isNumber(r)) {
    if (typeof l === 'bigint' && typeof r === 'bigint') c = l < r ? -1 : l > r ? 1 : 0;
    else c = Number(l) < Number(r) ? -1 : Number(l) > Number(r) ? 1 : 0;
  } else if (typeof l === 'string' && typeof r === 'string') {
    c = l < r ? -1 : l > r ? 1 : 0;
  } else {
    throw typeError(op, l, r);
  }
  if (op === '<') return c < 0;
  if (op === '<=') return c <= 0;
  if (op === '>') return c > 0;
  return c >= 0;
}

/** A binary operator other than `and`/`or`, on evaluated operands. */
export function binary(op: BinaryOp, l: WfValue, r: WfValue): WfValue {
  switch (op) {
    case '==':
      return valuesEqual(l, r);
    case '!=':
      return !valuesEqual(l, r);
    case '<':
    case '<=':
    case '>':
    case '>=':
      return compare(op, l, r);
    case 'in':
      if (Array.isArray(r)) return r.some((item) => valuesEqual(item, l));
      if (r instanceof Map) {
        if (typeof l !== 'string') throw typeError('in', l, r);
        return r.has(l);
      }
      throw typeError('in', l, r);
    case '+':
      if (typeof l === 'string' && typeof r === 'string') return l + r;
      return arithmetic(op, l, r);
    default:
      return arithmetic(op, l, r);
  }
}

function arithmetic(op: BinaryOp, l: WfValue, r: WfValue): WfValue {
  if (!isNumber(l) || !isNumber(r)) throw typeError(op, l, r);
  const bothInt = typeof l === 'bigint' && typeof r === 'bigint';
  const isZero = Number(r) === 0;
  if ((op === '/' || op === '//' || op === '%') && isZero) {
    throw taggedError('ZeroDivisionError', `division by zero: ${describe(l)} ${op} 0`);
  }
  if (bothInt) {
    switch (op) {
      case '+':
        return checkedInt(l + r);
      case '-':
        return checkedInt(l - r);
      case '*':
        return checkedInt(l * r);
      case '/':
        return Number(l) / Number(r);
      case '//': {
        // Floor division, as the name says (bigint `/` truncates toward zero).
        const q = l / r;
        return checkedInt(q * r !== l && l < 0n !== r < 0n ? q - 1n : q);
      }
      case '%': {
        const m = l % r;
        return m !== 0n && m < 0n !== r < 0n ? m + r : m;
      }
    }
  }
  const a = Number(l);
  const b = Number(r);
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    case '//':
      return Math.floor(a / b);
    case '%': {
      const m = a % b;
      return m !== 0 && m < 0 !== b < 0 ? m + b : m;
    }
  }
  throw typeError(op, l, r);
}
