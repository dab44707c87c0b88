/**
 * The standard-library functions usable inside expressions: expression helpers
 * (default, len, keys, string, int, double) and the modules base64, json, list,
 * map, math, sys (non-blocking part), text, uuid; time, hash and if() are in
 * stdlib-time-hash.ts.
 * https://cloud.google.com/workflows/docs/reference/stdlib/overview
 * Regular expressions are JavaScript's, not RE2 (README: deviations).
 */
import { randomUUID } from 'node:crypto';
import { BLOCKING_FUNCTIONS } from './builtin-calls.ts';
import { taggedError } from './errors.ts';
import { DEFAULT_MAX_MEMORY_BYTES, memoryLimitError, withinLimit } from './memory.ts';
import {
  arity,
  codePoints,
  decodeJsonText,
  expect,
  findAll,
  isBytes,
  isInt,
  isList,
  isMapValue,
  isNum,
  isString,
  mapGet,
  matchesOf,
  mathPick,
  mergeNested,
  regex,
  toDouble,
  toInt,
  toStringValue,
} from './stdlib-args.ts';
import { TIME_HASH_FUNCTIONS } from './stdlib-time-hash.ts';
import { checkedInt, encodeJson, typeName, type WfMap, type WfValue } from './values.ts';

/** What non-pure functions read: the execution's environment and clock, and the size limit. */
export interface FunctionHost {
  readonly env: Readonly<Record<string, string>>;
  /** Milliseconds since the epoch. */
  now(): number;
  /** The most a value may take (memory.ts); Google's 512 KB when absent. */
  readonly maxValueBytes?: number;
}

type Fn = (args: WfValue[], host: FunctionHost) => WfValue;

const CORE_FUNCTIONS: Record<string, Fn> = {
  default: (args) => {
    arity('default', args, 2);
    return args[0] ?? args[1] ?? null;
  },
  len: (args) => {
    arity('len', args, 1);
    const v = args[0] ?? null;
    if (typeof v === 'string') return BigInt(codePoints(v).length);
    if (Array.isArray(v)) return BigInt(v.length);
    if (v instanceof Map) return BigInt(v.size);
    if (v instanceof Uint8Array) return BigInt(v.length);
    throw taggedError('TypeError', `len() of a ${typeName(v)}`);
  },
  keys: (args) => {
    arity('keys', args, 1);
    return [...expect('keys', args[0] ?? null, isMapValue, 'a map').keys()];
  },
  string: (args) => {
    arity('string', args, 1);
    return toStringValue(args[0] ?? null);
  },
  int: (args) => {
    arity('int', args, 1);
    return toInt(args[0] ?? null);
  },
  double: (args) => {
    arity('double', args, 1);
    return toDouble(args[0] ?? null);
  },
  'base64.encode': (args) => {
    arity('base64.encode', args, 1, 2);
    const data = expect('base64.encode', args[0] ?? null, isBytes, 'bytes');
    const text = Buffer.from(data).toString('base64');
    return args[1] === false ? text.replace(/=+$/, '') : text;
  },
  'base64.decode': (args) => {
    arity('base64.decode', args, 1, 2);
    const text = expect('base64.decode', args[0] ?? null, isString, 'a string');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
      throw taggedError('ValueError', 'base64.decode: input is not base64');
    }
    return new Uint8Array(Buffer.from(text, 'base64'));
  },
  'json.encode': (args) => {
    arity('json.encode', args, 1, 2);
    return new Uint8Array(Buffer.from(encodeJson(args[0] ?? null), 'utf8'));
  },
  'json.encode_to_string': (args) => {
    arity('json.encode_to_string', args, 1, 2);
    return encodeJson(args[0] ?? null);
  },
  'json.decode': (args) => {
    arity('json.decode', args, 1);
    const data = args[0] ?? null;
    if (data instanceof Uint8Array) return decodeJsonText(Buffer.from(data).toString('utf8'));
    return decodeJsonText(expect('json.decode', data, isString, 'bytes or a string'));
  },
  'list.concat': (args) => {
    arity('list.concat', args, 2);
    return [...expect('list.concat', args[0] ?? null, isList, 'a list'), args[1] ?? null];
  },
  'list.prepend': (args) => {
    arity('list.prepend', args, 2);
    return [args[1] ?? null, ...expect('list.prepend', args[0] ?? null, isList, 'a list')];
  },
  'map.get': (args) => {
    arity('map.get', args, 2);
    return mapGet(args[0] ?? null, args[1] ?? null);
  },
  'map.delete': (args) => {
    arity('map.delete', args, 2);
    const out: WfMap = new Map(expect('map.delete', args[0] ?? null, isMapValue, 'a map'));
    out.delete(expect('map.delete', args[1] ?? null, isString, 'a string'));
    return out;
  },
  'map.merge': (args) => {
    arity('map.merge', args, 2);
    const a = expect('map.merge', args[0] ?? null, isMapValue, 'a map');
    const b = expect('map.merge', args[1] ?? null, isMapValue, 'a map');
    return new Map([...a, ...b]);
  },
  'map.merge_nested': (args) => {
    arity('map.merge_nested', args, 2);
    const a = expect('map.merge_nested', args[0] ?? null, isMapValue, 'a map');
    return mergeNested(a, expect('map.merge_nested', args[1] ?? null, isMapValue, 'a map'));
  },
  'math.abs': (args) => {
    arity('math.abs', args, 1);
    const v = expect('math.abs', args[0] ?? null, isNum, 'a number');
    return typeof v === 'bigint' ? checkedInt(v < 0n ? -v : v) : Math.abs(v);
  },
  'math.floor': (args) => {
    arity('math.floor', args, 1);
    const v = expect('math.floor', args[0] ?? null, isNum, 'a number');
    return typeof v === 'bigint' ? v : checkedInt(BigInt(Math.floor(v)));
  },
  'math.max': (args) => mathPick('math.max', args, (a, b) => a >= b),
  'math.min': (args) => mathPick('math.min', args, (a, b) => a <= b),
  'math.sqrt': (args) => {
    arity('math.sqrt', args, 1);
    return Math.sqrt(Number(expect('math.sqrt', args[0] ?? null, isNum, 'a number')));
  },
  'sys.get_env': (args, host) => {
    arity('sys.get_env', args, 1, 2);
    const name = expect('sys.get_env', args[0] ?? null, isString, 'a string');
    return host.env[name] ?? args[1] ?? null;
  },
  'sys.now': (args, host) => {
    arity('sys.now', args, 0);
    return host.now() / 1000;
  },
  'text.find_all': (args, host) => {
    arity('text.find_all', args, 2);
    const source = expect('text.find_all', args[0] ?? null, isString, 'a string');
    const sub = expect('text.find_all', args[1] ?? null, isString, 'a string');
    return findAll(
      source,
      new RegExp(sub.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gu'),
      maxBytes(host),
    );
  },
  'text.find_all_regex': (args, host) => {
    arity('text.find_all_regex', args, 2);
    const source = expect('text.find_all_regex', args[0] ?? null, isString, 'a string');
    return findAll(source, regex('text.find_all_regex', args[1] ?? null, true), maxBytes(host));
  },
  'text.match_regex': (args) => {
    arity('text.match_regex', args, 2);
    const source = expect('text.match_regex', args[0] ?? null, isString, 'a string');
    return regex('text.match_regex', args[1] ?? null).test(source);
  },
  'text.replace_all': (args, host) => {
    arity('text.replace_all', args, 3);
    const source = expect('text.replace_all', args[0] ?? null, isString, 'a string');
    const sub = expect('text.replace_all', args[1] ?? null, isString, 'a string');
    const repl = expect('text.replace_all', args[2] ?? null, isString, 'a string');
    const parts = source.split(sub);
    // Measured before joining: a short match replaced by a long text multiplies the length.
    const length = source.length + (parts.length - 1) * (repl.length - sub.length);
    if (length > maxBytes(host)) throw memoryLimitError(maxBytes(host), 'text.replace_all');
    return parts.join(repl);
  },
  'text.replace_all_regex': (args, host) => {
    arity('text.replace_all_regex', args, 3);
    const source = expect('text.replace_all_regex', args[0] ?? null, isString, 'a string');
    const repl = expect('text.replace_all_regex', args[2] ?? null, isString, 'a string');
    const re = regex('text.replace_all_regex', args[1] ?? null, true);
    // No backreferences in the replacement: `repl` is inserted as it is.
    const parts: string[] = [];
    let length = 0;
    let from = 0;
    for (const [start, match] of matchesOf(source, re)) {
      length += start - from + repl.length;
      if (length > maxBytes(host)) throw memoryLimitError(maxBytes(host), 'text.replace_all_regex');
      parts.push(source.slice(from, start), repl);
      from = start + match.length;
    }
    if (length + source.length - from > maxBytes(host)) {
      throw memoryLimitError(maxBytes(host), 'text.replace_all_regex');
    }
    parts.push(source.slice(from));
    return parts.join('');
  },
  'text.split': (args) => {
    arity('text.split', args, 2);
    const source = expect('text.split', args[0] ?? null, isString, 'a string');
    return source.split(expect('text.split', args[1] ?? null, isString, 'a string'));
  },
  'text.substring': (args) => {
    arity('text.substring', args, 3);
    const chars = codePoints(expect('text.substring', args[0] ?? null, isString, 'a string'));
    const clamp = (v: bigint) => Math.max(0, Math.min(chars.length, Number(v)));
    const start = clamp(expect('text.substring', args[1] ?? null, isInt, 'an integer'));
    const end = clamp(expect('text.substring', args[2] ?? null, isInt, 'an integer'));
    return chars.slice(start, Math.max(start, end)).join('');
  },
  'text.to_lower': (args) => {
    arity('text.to_lower', args, 1);
    return expect('text.to_lower', args[0] ?? null, isString, 'a string').toLowerCase();
  },
  'text.to_upper': (args) => {
    arity('text.to_upper', args, 1);
    return expect('text.to_upper', args[0] ?? null, isString, 'a string').toUpperCase();
  },
  'text.encode': (args) => {
    arity('text.encode', args, 1, 2);
    const text = expect('text.encode', args[0] ?? null, isString, 'a string');
    return new Uint8Array(Buffer.from(text, 'utf8'));
  },
  'text.decode': (args) => {
    arity('text.decode', args, 1, 2);
    const data = expect('text.decode', args[0] ?? null, isBytes, 'bytes');
    return new TextDecoder('utf-8', { fatal: false }).decode(data);
  },
  'text.url_encode': (args) => {
    arity('text.url_encode', args, 1);
    return encodeURIComponent(expect('text.url_encode', args[0] ?? null, isString, 'a string'));
  },
  'text.url_decode': (args) => {
    arity('text.url_decode', args, 1);
    return decodeURIComponent(expect('text.url_decode', args[0] ?? null, isString, 'a string'));
  },
  'uuid.generate': (args) => {
    arity('uuid.generate', args, 0);
    return randomUUID();
  },
};

const FUNCTIONS: Record<string, Fn> = { ...CORE_FUNCTIONS, ...TIME_HASH_FUNCTIONS };

/** True when an expression may call `name`. */
export function isExpressionFunction(name: string): boolean {
  return Object.hasOwn(FUNCTIONS, name);
}

/** The most a value may take in this execution. */
function maxBytes(host: FunctionHost): number {
  return host.maxValueBytes ?? DEFAULT_MAX_MEMORY_BYTES;
}

/**
 * Calls a standard-library function by its dotted name. What it returns must
 * fit the memory limit, like any value (memory.ts); the functions that can
 * multiply a length check before building their result.
 */
export function callFunction(name: string, args: WfValue[], host: FunctionHost): WfValue {
  const fn = Object.hasOwn(FUNCTIONS, name) ? FUNCTIONS[name] : undefined;
  if (fn === undefined) {
    if (BLOCKING_FUNCTIONS.has(name)) {
      throw taggedError('TypeError', `${name} is a blocking call; use it in a call step`);
    }
    throw taggedError('KeyError', `unknown function: ${name}`);
  }
  return withinLimit(fn(args, host), maxBytes(host), `the result of ${name}`);
}
