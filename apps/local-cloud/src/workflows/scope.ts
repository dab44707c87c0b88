/**
 * Variables of one subworkflow call (a stack of scopes: the call's own, plus
 * one per running `for` loop, `except` block and parallel branch) and
 * copy-on-write assignment into maps and lists. Every assignment is charged to
 * the execution's memory (memory.ts), and a scope gives back its share when it
 * ends.
 */
import { taggedError } from './errors.ts';
import { getIndex } from './evaluate.ts';
import type { VariableMemory } from './memory.ts';
import type { WfMap, WfValue } from './values.ts';
import { typeName } from './values.ts';

/** The variables of one subworkflow call, or of one parallel branch of it. */
export class Frame {
  readonly scopes: Map<string, WfValue>[];
  /** The subworkflow this call runs, for error locations. */
  readonly subworkflow: string;
  /** Subworkflow call depth (main = 1), per branch: branches call concurrently. */
  readonly depth: number;
  /** How many parallel steps enclose this point, across subworkflow calls. */
  readonly parallelDepth: number;
  /** The execution's variables, all frames together. */
  private readonly memory: VariableMemory;

  constructor(
    subworkflow: string,
    memory: VariableMemory,
    depth = 1,
    parallelDepth = 0,
    scopes: Map<string, WfValue>[] = [new Map()],
  ) {
    this.subworkflow = subworkflow;
    this.memory = memory;
    this.depth = depth;
    this.parallelDepth = parallelDepth;
    this.scopes = scopes;
  }

  /**
   * A parallel branch or iteration: the enclosing scopes are the same Maps (a
   * write to a shared variable is seen by every branch; the deploy check lets a
   * branch write only `shared` ones), plus a scope of its own for new variables.
   */
  fork(): Frame {
    return new Frame(this.subworkflow, this.memory, this.depth, this.parallelDepth + 1, [
      ...this.scopes,
      new Map(),
    ]);
  }

  /**
   * Runs `work` with a new scope on top (a `for` body or an `except` block),
   * whose variables are given back when it ends.
   */
  async withScope<T>(work: () => Promise<T>): Promise<T> {
    const scope = new Map<string, WfValue>();
    this.scopes.push(scope);
    try {
      return await work();
    } finally {
      this.scopes.pop();
      this.memory.release(scope);
    }
  }

  /** Gives back the variables of this call's or branch's own scope, once it has ended. */
  release(): void {
    const own = this.scopes[this.scopes.length - 1];
    if (own !== undefined) this.memory.release(own);
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
        this.memory.set(scope, name, value);
        return;
      }
    }
    this.setLocal(name, value);
  }

  /** Sets the variable in the innermost scope (a loop variable, an `except` block's `as`). */
  setLocal(name: string, value: WfValue): void {
    const innermost = this.scopes[this.scopes.length - 1];
    if (innermost !== undefined) this.memory.set(innermost, name, value);
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
