/**
 * Variables of one subworkflow call (a stack of scopes: the call's own, plus
 * one per running `for` loop) and copy-on-write assignment into maps and lists.
 */
import { taggedError } from './errors.ts';
import { getIndex } from './evaluate.ts';
import type { WfMap, WfValue } from './values.ts';
import { typeName } from './values.ts';

/** The variables of one subworkflow call. */
export class Frame {
  readonly scopes: Map<string, WfValue>[] = [new Map()];
  /** The subworkflow this call runs, for error locations. */
  readonly subworkflow: string;

  constructor(subworkflow: string) {
    this.subworkflow = subworkflow;
  }

  lookup(name: string): WfValue {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const scope = this.scopes[i];
      if (scope?.has(name)) return scope.get(name) ?? null;
    }
    throw taggedError('KeyError', `variable not defined: ${name}`);
  }

  /** Updates the innermost scope that has the variable, or creates it in the innermost scope. */
  set(name: string, value: WfValue): void {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const scope = this.scopes[i];
      if (scope?.has(name)) {
        scope.set(name, value);
        return;
      }
    }
    this.scopes[this.scopes.length - 1]?.set(name, value);
  }
}

/** True for integers and doubles. */
export function isNum(v: WfValue | undefined): v is bigint | number {
  return typeof v === 'bigint' || typeof v === 'number';
}

/** The values of an inclusive `range: [start, end]`, step 1. */
export function* rangeValues(start: bigint | number, end: bigint | number): Generator<WfValue> {
  if (typeof start === 'bigint' && typeof end === 'bigint') {
    for (let v = start; v <= end; v++) yield v;
    return;
  }
  for (let v = Number(start); v <= Number(end); v++) yield v;
}

/** Copy-on-write update of `root[keys…] = value`, so assigned values never alias. */
export function setPath(root: WfValue, keys: WfValue[], value: WfValue): WfValue {
  const [key, ...rest] = keys;
  if (key === undefined) return value;
  if (Array.isArray(root)) {
    getIndex(root, key); // IndexError / TypeError as reading would raise
    const copy = [...root];
    copy[Number(key)] = setPath(copy[Number(key)] ?? null, rest, value);
    return copy;
  }
  if (root instanceof Map) {
    if (typeof key !== 'string')
      throw taggedError('TypeError', `map key must be a string, got ${typeName(key)}`);
    const copy: WfMap = new Map(root);
    // Missing intermediate maps are created, as Google does for nested keys.
    copy.set(
      key,
      setPath(
        root.has(key) ? (root.get(key) ?? null) : rest.length > 0 ? new Map() : null,
        rest,
        value,
      ),
    );
    return copy;
  }
  throw taggedError('TypeError', `cannot assign into a ${typeName(root)}`);
}
