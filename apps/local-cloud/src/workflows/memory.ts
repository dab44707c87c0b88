/**
 * The memory limit of an execution. Google: "The maximum amount of memory that
 * you can use applies to the cumulative size of all variables defined in a
 * single execution of a workflow", 512 KB
 * (https://cloud.google.com/workflows/docs/reference/syntax/variables#memory-usage,
 * https://cloud.google.com/workflows/quotas#resource_limits), each value
 * counted as that page says: 8 bytes for an integer, a double or a boolean
 * (and here null); 8 bytes plus each element for a string, bytes or a list;
 * 8 bytes plus each key and each value for a map — by value, so a list that
 * holds the same list twice counts it twice.
 *
 * Values never change once made (assignment copies on write, scope.ts), so a
 * list's or map's size is measured once and remembered. A measurement stops
 * as soon as it passes its budget: every item it visits adds at least 8 bytes,
 * so measuring costs at most budget / 8 visits however the value was built (a
 * list nested in itself 40 times is 2^40 elements to Google and to this
 * count, and 40 small arrays in memory).
 */
import { WorkflowRuntimeError } from './errors.ts';
import type { WfMap, WfValue } from './values.ts';

/** Google's limit on the variables of one execution: 512 KB (quotas page, "Memory"). */
export const DEFAULT_MAX_MEMORY_BYTES = 512 * 1024;

/** What a number, a boolean, null, or the fixed part of a string, bytes, list or map counts. */
const WORD = 8;

const measured = new WeakMap<WfValue[] | WfMap, number>();

/** The size of a value whose size is known without visiting anything, else undefined. */
function knownSize(value: WfValue): number | undefined {
  if (typeof value === 'string') return WORD + value.length;
  if (value instanceof Uint8Array) return WORD + value.length;
  if (Array.isArray(value) || value instanceof Map) return measured.get(value);
  return WORD;
}

interface Open {
  readonly node: WfValue[] | WfMap;
  readonly items: Iterator<WfValue> | Iterator<[string, WfValue]>;
  size: number;
}

function open(node: WfValue[] | WfMap): Open {
  return { node, items: Array.isArray(node) ? node.values() : node.entries(), size: WORD };
}

/**
 * The value's size as Google counts it, or a number over `budget` as soon as
 * the count passes it (then the exact size is not known, and not needed).
 * Iterative, so a deeply nested value cannot overflow the stack.
 */
export function sizeOf(value: WfValue, budget: number): number {
  const known = knownSize(value);
  if (known !== undefined) return known;
  const stack: Open[] = [open(value as WfValue[] | WfMap)];
  let counted = WORD;
  while (counted <= budget) {
    const top = stack[stack.length - 1] as Open;
    const next = top.items.next();
    if (next.done === true) {
      stack.pop();
      measured.set(top.node, top.size);
      const parent = stack[stack.length - 1];
      if (parent === undefined) return top.size;
      parent.size += top.size;
      continue;
    }
    let child: WfValue;
    if (top.node instanceof Map) {
      const [key, v] = next.value as [string, WfValue];
      top.size += WORD + key.length;
      counted += WORD + key.length;
      child = v;
    } else {
      child = next.value as WfValue;
    }
    const size = knownSize(child);
    if (size === undefined) {
      stack.push(open(child as WfValue[] | WfMap));
      counted += WORD;
    } else {
      top.size += size;
      counted += size;
    }
  }
  return counted;
}

/**
 * The error past the limit: a ResourceLimitError, which no `except` can catch
 * (Google: "When raised internally, this type of error can't be caught and
 * causes immediate execution failure", error types reference).
 */
export function memoryLimitError(limit: number, what: string): WorkflowRuntimeError {
  return new WorkflowRuntimeError(
    {
      message: `Memory usage limit exceeded: ${what} would take more than ${limit} bytes`,
      tags: ['ResourceLimitError'],
    },
    { fatal: true },
  );
}

/**
 * Returns the value when it fits in `limit`, else raises the memory error: for
 * what an operator, a function or a literal makes, so that one expression
 * cannot build a value that no variable could hold (and gigabytes on the way).
 */
export function withinLimit<T extends WfValue>(value: T, limit: number, what: string): T {
  if (sizeOf(value, limit) > limit) throw memoryLimitError(limit, what);
  return value;
}

/** A variable scope: name → value. */
type Scope = Map<string, WfValue>;

/**
 * The variables of one execution, all frames and branches together: each
 * assignment is charged the size of the new value less that of the old one,
 * and a scope that ends (a subworkflow call, a `for` body, an `except` block, a
 * parallel branch) gives back what its variables held.
 */
export class VariableMemory {
  readonly limit: number;
  private used = 0;
  private readonly sizes = new WeakMap<Scope, Map<string, number>>();

  constructor(limit: number) {
    this.limit = limit;
  }

  /** `scope[name] = value`, or the memory error when the variables would pass the limit. */
  set(scope: Scope, name: string, value: WfValue): void {
    let sizes = this.sizes.get(scope);
    if (sizes === undefined) {
      sizes = new Map();
      this.sizes.set(scope, sizes);
    }
    const others = this.used - (sizes.get(name) ?? 0);
    const size = sizeOf(value, this.limit - others);
    if (others + size > this.limit) {
      throw memoryLimitError(this.limit, `the variables (assigning ${name})`);
    }
    this.used = others + size;
    sizes.set(name, size);
    scope.set(name, value);
  }

  /** Gives back what the variables of a scope that ended held. */
  release(scope: Scope): void {
    const sizes = this.sizes.get(scope);
    if (sizes === undefined) return;
    for (const size of sizes.values()) this.used -= size;
    this.sizes.delete(scope);
  }
}
