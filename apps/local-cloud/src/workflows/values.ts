/**
 * The value model of the Workflows language: integers are 64-bit signed
 * (held as bigint so that int and double stay distinct, as Google's `/` vs `//`
 * and `string()` need), doubles are JS numbers, maps are insertion-ordered Maps
 * with string keys, bytes are Uint8Arrays.
 * https://cloud.google.com/workflows/docs/reference/syntax/datatypes
 */
import { taggedError } from './errors.ts';

/** A map value: string keys, insertion order kept. */
export type WfMap = Map<string, WfValue>;
/** Any value a workflow can hold. */
export type WfValue = null | boolean | bigint | number | string | Uint8Array | WfValue[] | WfMap;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Raises ValueError when an integer left the signed 64-bit range. */
export function checkedInt(value: bigint): bigint {
  if (value < INT64_MIN || value > INT64_MAX) {
    throw taggedError('ValueError', `integer overflow: ${value} is outside the 64-bit range`);
  }
  return value;
}

/** Converts parsed JSON (or any plain JS value) into a workflow value. */
export function fromJs(value: unknown): WfValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'bigint') return checkedInt(value);
  if (typeof value === 'number') {
    // JSON does not keep 2 vs 2.0 apart; whole numbers become integers (README: deviations).
    return Number.isSafeInteger(value) ? BigInt(value) : value;
  }
  if (value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map(fromJs);
  if (value instanceof Map) {
    const out: WfMap = new Map();
    for (const [k, v] of value) out.set(String(k), fromJs(v));
    return out;
  }
  if (typeof value === 'object') {
    const out: WfMap = new Map();
    for (const [k, v] of Object.entries(value)) out.set(k, fromJs(v));
    return out;
  }
  throw taggedError('TypeError', `unsupported value of JS type ${typeof value}`);
}

/** Converts a workflow value into plain JSON-compatible JS (integers become numbers). */
export function toJs(value: WfValue): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(toJs);
  if (value instanceof Map) {
    return Object.fromEntries([...value].map(([k, v]) => [k, toJs(v)]));
  }
  return value;
}

/** The Workflows name of a value's type, as used in error messages. */
export function typeName(value: WfValue): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'bigint') return 'integer';
  if (typeof value === 'number') return 'double';
  if (typeof value === 'string') return 'string';
  if (value instanceof Uint8Array) return 'bytes';
  if (Array.isArray(value)) return 'list';
  return 'map';
}

/** True for integers and doubles. */
export function isNumber(value: WfValue): value is bigint | number {
  return typeof value === 'bigint' || typeof value === 'number';
}

/** True for map values. */
export function isMap(value: WfValue): value is WfMap {
  return value instanceof Map;
}

/** Deep equality; an integer equals a double of the same numeric value. */
export function valuesEqual(a: WfValue, b: WfValue): boolean {
  if (isNumber(a) && isNumber(b)) {
    if (typeof a === 'bigint' && typeof b === 'bigint') return a === b;
    return Number(a) === Number(b);
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => valuesEqual(item, b[i] ?? null));
  }
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) {
      if (!b.has(k) || !valuesEqual(v, b.get(k) ?? null)) return false;
    }
    return true;
  }
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    return a.length === b.length && a.every((byte, i) => byte === b[i]);
  }
  return a === b;
}

/** Text form of a double as `string()` gives it. */
export function doubleToString(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
  return String(value);
}

/** JSON text of a value (json.encode_to_string); bytes are refused like Google does. */
export function encodeJson(value: WfValue, indent?: number): string {
  return JSON.stringify(toJsonSafe(value), null, indent);
}

function toJsonSafe(value: WfValue): unknown {
  if (value instanceof Uint8Array) {
    throw taggedError('TypeError', 'bytes cannot be encoded as JSON');
  }
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw taggedError('ValueError', `${doubleToString(value)} cannot be encoded as JSON`);
  }
  if (Array.isArray(value)) return value.map(toJsonSafe);
  if (value instanceof Map) {
    return Object.fromEntries([...value].map(([k, v]) => [k, toJsonSafe(v)]));
  }
  if (typeof value === 'bigint') return Number(value);
  return value;
}

/** Short description of a value for error messages. */
export function describe(value: WfValue): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return String(value);
  if (typeof value === 'number') return doubleToString(value);
  return typeName(value);
}
