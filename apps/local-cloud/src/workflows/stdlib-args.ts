/**
 * Argument checking and conversions shared by the standard-library functions
 * (stdlib.ts), with sharp's message format: "Expected X for name but received Y".
 */
import { coerceError } from '@slideshow/runtime';
import { RE2JS } from 're2js';
import { taggedError, WorkflowRuntimeError } from './errors.ts';
import { memoryLimitError } from './memory.ts';
import {
  checkedInt,
  describe,
  doubleToString,
  fromJs,
  isNumber,
  typeName,
  type WfMap,
  type WfValue,
} from './values.ts';

/** A standard-library function that reads only its arguments. */
export type PureFunction = (args: WfValue[]) => WfValue;

/** Raises TypeError unless `args` has between min and max items. */
export function arity(name: string, args: WfValue[], min: number, max = min): void {
  if (args.length < min || args.length > max) {
    const expected = min === max ? `${min}` : `${min} to ${max}`;
    throw taggedError(
      'TypeError',
      `${name}() takes ${expected} argument(s) but ${args.length} were given`,
    );
  }
}

/** Returns the value when `check` accepts it, else raises "Expected X for name but received Y". */
export function expect<T extends WfValue>(
  name: string,
  value: WfValue,
  check: (v: WfValue) => v is T,
  what: string,
): T {
  if (!check(value)) {
    throw taggedError(
      'TypeError',
      `Expected ${what} for ${name} but received ${describe(value)} of type ${typeName(value)}`,
    );
  }
  return value;
}

/** Type guards for `expect`. */
export const isString = (v: WfValue): v is string => typeof v === 'string';
/** Type guard for `expect`. */
export const isInt = (v: WfValue): v is bigint => typeof v === 'bigint';
/** Type guard for `expect`. */
export const isList = (v: WfValue): v is WfValue[] => Array.isArray(v);
/** Type guard for `expect`. */
export const isMapValue = (v: WfValue): v is WfMap => v instanceof Map;
/** Type guard for `expect`. */
export const isBytes = (v: WfValue): v is Uint8Array => v instanceof Uint8Array;
/** Type guard for `expect`. */
export const isNum = (v: WfValue): v is bigint | number => isNumber(v);

/** Decodes JSON text keeping integers (no fraction or exponent) as 64-bit integers. */
export function decodeJsonText(text: string): WfValue {
  try {
    return fromJs(
      JSON.parse(text, (_key, value: unknown, context?: { source?: string }) => {
        if (typeof value === 'number' && context?.source !== undefined) {
          return /^-?[0-9]+$/.test(context.source) ? BigInt(context.source) : value;
        }
        return value;
      }),
    );
  } catch (error) {
    if (error instanceof WorkflowRuntimeError) throw error;
    throw taggedError('ValueError', `invalid JSON: ${coerceError(error).message}`);
  }
}

/** The characters of a string (code points, as Workflows counts them). */
export function codePoints(s: string): string[] {
  return [...s];
}

/**
 * Compiles a Workflows regular expression, or raises ValueError. Workflows uses
 * RE2 (its syntax, no backreferences or lookaround, and time linear in the
 * input, so no pattern can stall the engine); `longest` picks, of the matches
 * that start at the same index, the longest, as text.find_all_regex and
 * text.replace_all_regex do.
 */
export function regex(name: string, pattern: WfValue, longest = false): RE2JS {
  const source = expect(name, pattern, isString, 'a regular expression string');
  try {
    return RE2JS.compile(source, longest ? RE2JS.LONGEST_MATCH : 0);
  } catch (error) {
    throw taggedError(
      'ValueError',
      `invalid regular expression for ${name}: ${coerceError(error).message}`,
    );
  }
}

/** The matches of `re` in `source`, left to right, without overlap: [start, text] in UTF-16 units. */
export function* matchesOf(source: string, re: RE2JS | RegExp): Generator<[number, string]> {
  for (const m of re instanceof RE2JS ? re.matchAll(source) : source.matchAll(re)) {
    yield [m.index ?? 0, m[0]];
  }
}

/**
 * All matches as [{index, match}], indexes in characters; the memory error
 * (memory.ts) as soon as the list would take more than `maxBytes`.
 */
export function findAll(source: string, re: RE2JS | RegExp, maxBytes: number): WfValue {
  const out: WfValue[] = [];
  // The list, and per match a map of two keys, an integer and a string (memory.ts's count).
  let size = 8;
  for (const [start, match] of matchesOf(source, re)) {
    size += 8 + 8 + 'index'.length + 8 + 8 + 'match'.length + 8 + match.length;
    if (size > maxBytes) throw memoryLimitError(maxBytes, 'text.find_all');
    const index = codePoints(source.slice(0, start)).length;
    out.push(
      new Map<string, WfValue>([
        ['index', BigInt(index)],
        ['match', match],
      ]),
    );
  }
  return out;
}

/** string(): integers, doubles and booleans to text. */
export function toStringValue(v: WfValue): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return String(v);
  if (typeof v === 'number') return doubleToString(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  throw taggedError('TypeError', `string() cannot convert a ${typeName(v)}`);
}

/** int(): a double truncated toward zero, or a decimal string. */
export function toInt(v: WfValue): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw taggedError('ValueError', `int() cannot convert ${v}`);
    return checkedInt(BigInt(Math.trunc(v)));
  }
  if (typeof v === 'string' && /^\s*[+-]?[0-9]+\s*$/.test(v)) return checkedInt(BigInt(v.trim()));
  if (typeof v === 'string') throw taggedError('ValueError', `int() cannot parse ${describe(v)}`);
  throw taggedError('TypeError', `int() cannot convert a ${typeName(v)}`);
}

/** double(): an integer or a numeric string. */
export function toDouble(v: WfValue): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
  if (typeof v === 'string')
    throw taggedError('ValueError', `double() cannot parse ${describe(v)}`);
  throw taggedError('TypeError', `double() cannot convert a ${typeName(v)}`);
}

/** math.max / math.min: the argument `pickFirst` prefers, keeping its type. */
export function mathPick(
  name: string,
  args: WfValue[],
  pickFirst: (a: number, b: number) => boolean,
) {
  arity(name, args, 2);
  const a = expect(name, args[0] ?? null, isNum, 'a number');
  const b = expect(name, args[1] ?? null, isNum, 'a number');
  return pickFirst(Number(a), Number(b)) ? a : b;
}

/** map.get: a key, or a list of keys for nested maps; null when absent. */
export function mapGet(m: WfValue, key: WfValue): WfValue {
  if (Array.isArray(key)) {
    let cur: WfValue = m;
    for (const k of key) {
      if (!(cur instanceof Map) || typeof k !== 'string' || !cur.has(k)) return null;
      cur = cur.get(k) ?? null;
    }
    return cur;
  }
  const map = expect('map.get', m, isMapValue, 'a map');
  const k = expect('map.get', key, isString, 'a string or a list of strings');
  return map.get(k) ?? null;
}

/** map.merge_nested: b over a, merging maps found under the same key. */
export function mergeNested(a: WfMap, b: WfMap): WfMap {
  const out: WfMap = new Map(a);
  for (const [k, v] of b) {
    const cur = out.get(k);
    out.set(k, cur instanceof Map && v instanceof Map ? mergeNested(cur, v) : v);
  }
  return out;
}
