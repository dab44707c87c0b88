/**
 * A test-only ObjectStore wrapper that injects storage faults: some `put`s and
 * `get`s fail with a retryable `STORAGE_UNAVAILABLE` (what a GCS 503 becomes),
 * some stall before they start (a slow or hung connection). Decisions are
 * deterministic: each one is a hash of the seed, a salt (e.g. the task
 * attempt), the operation, the key and how many times that key was touched in
 * this process — so a run is reproducible from its seed whatever the
 * concurrency, and a retry with another salt gets a fresh draw.
 *
 * The test-only entries (`apps/{backend,processor}/src/main-with-faults.ts`)
 * wrap their store with it when `STORAGE_FAULTS` is set
 * (`seed=42,fail=0.05,stall=0.02,stallMs=3000`), see {@link parseStorageFaults}.
 */
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '@slideshow/runtime';
import {
  type GetOptions,
  listThrough,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
} from './object-store.ts';

/** Which calls can be hit by a fault. */
export type FaultyOperation = 'put' | 'get';

/** Options for {@link createFaultyObjectStore}. */
export interface StorageFaultOptions {
  /** Seed of every decision; the same seed (and salt) gives the same faults. */
  seed: number;
  /** Mixed into every decision, e.g. the Cloud Run task attempt, so a retry draws again. */
  salt?: string;
  /** Probability (0–1) that a call fails. Default 0. */
  failRate?: number;
  /** Probability (0–1) that a call stalls for `stallMs` before it starts. Default 0. */
  stallRate?: number;
  /** How long a stall lasts. Default 3000 ms. */
  stallMs?: number;
  /** Operations subject to faults. Default put and get. */
  operations?: readonly FaultyOperation[];
}

/** What the wrapper did so far (for test reports). */
export interface FaultStats {
  calls: number;
  failures: number;
  stalls: number;
}

/** An ObjectStore with injected faults, plus its counters. */
export interface FaultyObjectStore extends ObjectStore {
  /** Counts of calls, injected failures and stalls since creation. */
  stats(): FaultStats;
}

function checkRate(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    throw new AppError(
      'VALIDATION_FAILED',
      `Expected a number between 0 and 1 for ${name} but received ${String(value)} of type ${typeof value}`,
    );
  }
  return value;
}

// FNV-1a (32 bit) then one mulberry32 step: cheap, well mixed, no dependency.
function draw(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  let t = (h + 0x6d2b79f5) | 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** Wraps `inner` so that put/get fail or stall on a seeded random schedule. */
export function createFaultyObjectStore(
  inner: ObjectStore,
  options: StorageFaultOptions,
): FaultyObjectStore {
  if (!Number.isSafeInteger(options.seed)) {
    throw new AppError(
      'VALIDATION_FAILED',
      `Expected an integer for seed but received ${String(options.seed)} of type ${typeof options.seed}`,
    );
  }
  const failRate = checkRate('failRate', options.failRate ?? 0);
  const stallRate = checkRate('stallRate', options.stallRate ?? 0);
  const stallMs = options.stallMs ?? 3_000;
  const operations = new Set(options.operations ?? ['put', 'get']);
  const salt = options.salt ?? '';
  const touches = new Map<string, number>();
  const stats: FaultStats = { calls: 0, failures: 0, stalls: 0 };

  /** Stalls and/or throws according to the schedule for this call. */
  const before = async (
    operation: FaultyOperation,
    key: string,
    signal?: AbortSignal,
  ): Promise<void> => {
    if (!operations.has(operation)) return;
    stats.calls++;
    const id = `${operation}:${key}`;
    const n = touches.get(id) ?? 0;
    touches.set(id, n + 1);
    const base = `${options.seed}:${salt}:${id}:${n}`;
    if (draw(`${base}:stall`) < stallRate) {
      stats.stalls++;
      await sleep(stallMs, undefined, signal ? { signal } : {});
    }
    if (draw(`${base}:fail`) < failRate) {
      stats.failures++;
      throw new AppError('STORAGE_UNAVAILABLE', `injected storage fault on ${operation} ${key}`, {
        retryable: true,
        context: { key, operation, injected: true },
      });
    }
  };

  return {
    async put(key: string, body: Readable | Buffer, putOptions: PutOptions): Promise<ObjectInfo> {
      try {
        await before('put', key, putOptions.signal);
      } catch (error) {
        // A failed upload still consumes nothing more: discard the body so the caller's
        // pipeline (e.g. a multipart parser) is not left blocked on backpressure.
        if (!Buffer.isBuffer(body)) body.resume();
        throw error;
      }
      return await inner.put(key, body, putOptions);
    },
    async get(key: string, getOptions?: GetOptions): Promise<Readable> {
      await before('get', key);
      return await inner.get(key, getOptions);
    },
    stat: (key) => inner.stat(key),
    // Listings pass through untouched, options included (a delimiter listing must stay one).
    list: listThrough(inner),
    delete: (key) => inner.delete(key),
    deletePrefix: (prefix) => inner.deletePrefix(prefix),
    // Upload sessions pass through untouched: the faults are on reads and writes of objects.
    ...(inner.uploads ? { uploads: inner.uploads } : {}),
    stats: () => ({ ...stats }),
  };
}

/**
 * Parses `seed=42,fail=0.05,stall=0.02,stallMs=3000[,ops=put+get]` into
 * {@link StorageFaultOptions}; unknown or malformed fields are
 * `AppError('VALIDATION_FAILED')` so a typo never silently disables faults.
 */
export function parseStorageFaults(spec: string, salt?: string): StorageFaultOptions {
  const fields = new Map<string, string>();
  for (const part of spec.split(',')) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    if (eq <= 0) {
      throw new AppError(
        'VALIDATION_FAILED',
        `Expected name=value in STORAGE_FAULTS but received ${JSON.stringify(trimmed)}`,
      );
    }
    fields.set(trimmed.slice(0, eq), trimmed.slice(eq + 1));
  }
  const number = (name: string): number | undefined => {
    const raw = fields.get(name);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (raw === '' || !Number.isFinite(value)) {
      throw new AppError(
        'VALIDATION_FAILED',
        `Expected a number for ${name} in STORAGE_FAULTS but received ${JSON.stringify(raw)}`,
      );
    }
    return value;
  };
  for (const name of fields.keys()) {
    if (!['seed', 'fail', 'stall', 'stallMs', 'ops'].includes(name)) {
      throw new AppError(
        'VALIDATION_FAILED',
        `Unknown field ${JSON.stringify(name)} in STORAGE_FAULTS`,
      );
    }
  }
  const ops = fields.get('ops');
  const operations = ops === undefined ? undefined : ops.split('+');
  if (operations?.some((op) => op !== 'put' && op !== 'get')) {
    throw new AppError(
      'VALIDATION_FAILED',
      `Expected ops to be put, get or put+get in STORAGE_FAULTS but received ${JSON.stringify(ops)}`,
    );
  }
  const options: StorageFaultOptions = { seed: number('seed') ?? 1 };
  if (salt !== undefined) options.salt = salt;
  const failRate = number('fail');
  if (failRate !== undefined) options.failRate = failRate;
  const stallRate = number('stall');
  if (stallRate !== undefined) options.stallRate = stallRate;
  const stallMs = number('stallMs');
  if (stallMs !== undefined) options.stallMs = stallMs;
  if (operations) options.operations = operations as FaultyOperation[];
  return options;
}
