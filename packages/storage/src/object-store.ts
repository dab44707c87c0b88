import type { Readable } from 'node:stream';
import { AppError, coerceError } from '@slideshow/runtime';

export {
  parseUploadContentRange,
  persistedRange,
  UPLOAD_CHUNK_MULTIPLE,
  type UploadRange,
} from './upload-range.ts';

/**
 * The errno codes that mean "no room left" — the filesystem is full (ENOSPC),
 * the user's quota is spent (EDQUOT), or the process's file size limit was hit
 * (EFBIG, `ulimit -f`) — which a store reports as `STORAGE_FULL`, not
 * `STORAGE_UNAVAILABLE`: the operator's fix is to free space, not to look for a
 * failing store. The one list: the backend maps the same codes when they reach
 * it outside a store (apps/backend/src/http-errors.ts).
 */
export const NO_SPACE_ERRNOS: readonly string[] = ['ENOSPC', 'EDQUOT', 'EFBIG'];

/** True when `errno` (a Node system error's `code`) means no room is left ({@link NO_SPACE_ERRNOS}). */
export function isNoSpaceErrno(errno: unknown): boolean {
  return typeof errno === 'string' && NO_SPACE_ERRNOS.includes(errno);
}

/** What a store knows about one stored object. */
export interface ObjectInfo {
  key: string;
  bytes: number;
  contentType: string;
  updated: Date;
  cacheControl?: string;
}

/**
 * Where a listing starts: after `startAfter`, in key order (Cloud Storage's
 * `startOffset`, https://cloud.google.com/storage/docs/json_api/v1/objects/list,
 * which is inclusive; this one is not). A walk in pages passes the last entry
 * of the previous page, so no page lists an object again. `''` or absent: from
 * the start. "Key order" is each adapter's own listing order: UTF-8 bytes on
 * Cloud Storage, UTF-16 code units in the folder store; they differ only for
 * keys that mix characters above U+FFFF with U+E000–U+FFFF (never a generated
 * key), and a walk in pages over one adapter lists each object once either way.
 */
interface ListStart {
  /** Only the entries (objects, or common prefixes compared as their own string) that sort after this string. */
  startAfter?: string;
}

/** Options for {@link ObjectReader.list} without a delimiter: every object under the prefix. */
export interface FlatListOptions extends ListStart {
  /** Absent: a listing with a delimiter takes {@link ListOptions}. */
  delimiter?: undefined;
}

/** Options for {@link ObjectReader.list} with a delimiter. */
export interface ListOptions extends ListStart {
  /**
   * `'/'` lists one level, as Cloud Storage's `delimiter` does
   * (https://cloud.google.com/storage/docs/json_api/v1/objects/list): the
   * objects whose key has no `/` after the prefix, and one
   * {@link CommonPrefix} for each deeper level, however many objects it holds.
   */
  delimiter: '/';
}

/**
 * A level below a listed prefix (Cloud Storage's `prefixes[]`): `prefix` is the
 * listed prefix plus the rest of the key up to and including its next `/`.
 * It exists while at least one object lies under it.
 */
export interface CommonPrefix {
  kind: 'prefix';
  prefix: string;
}

/**
 * What a listing with a delimiter yields: an object, or a level below the
 * prefix. The `kind` is there so that a wrapper of the port that drops the
 * options (and would list every object) does not type-check.
 */
export type ListEntry = (ObjectInfo & { kind: 'object' }) | CommonPrefix;

/** Options for {@link ObjectWriter.put}. */
export interface PutOptions {
  contentType: string;
  cacheControl?: string;
  /** Hint for resumable uploads: the body's size in bytes, when known. */
  size?: number;
  /** Aborting leaves no object behind (an existing object keeps its old bytes). */
  signal?: AbortSignal;
}

/** Inclusive byte range for {@link ObjectReader.get}, like HTTP `Range: bytes=start-end`. */
export interface GetOptions {
  start?: number;
  end?: number;
}

/** Options for {@link ResumableUploads.openUpload}. */
export interface OpenUploadOptions {
  /** The object's content type. */
  contentType: string;
  /** The exact size in bytes: the session takes no more. */
  size: number;
  /**
   * The web origin (`https://host`) of the page that will send the bytes. GCS
   * answers the session's cross-origin requests for the origin of the request
   * that opened it (https://cloud.google.com/storage/docs/cross-origin).
   */
  origin?: string;
}

/** Where a resumable upload stands. */
export interface UploadStatus {
  /** Bytes the store has persisted, counted from 0. */
  received: number;
  /** True once the object exists (all bytes received). */
  complete: boolean;
}

/**
 * Resumable upload sessions, in Cloud Storage's protocol
 * (https://cloud.google.com/storage/docs/performing-resumable-uploads): the
 * session URL is the capability a client `PUT`s the bytes to, in chunks with
 * `Content-Range: bytes FIRST-LAST/TOTAL` (each but the last a multiple of
 * 256 KiB); the answer is `308` with `Range: bytes=0-LAST_PERSISTED` until
 * the last chunk, then `200` with the object. An empty `PUT` whose
 * `Content-Range` has `*` for the byte range asks where the upload stands
 * (resume after a network drop). The object is created only when every byte has arrived, and never
 * replaces an existing one.
 */
export interface ResumableUploads {
  /** Opens a session that will create `key`; resolves with the URL to send the bytes to. */
  openUpload(key: string, options: OpenUploadOptions): Promise<{ url: string }>;
  /** Asks the session how many bytes it holds (from the server side: no CORS involved). */
  uploadStatus(url: string, size: number): Promise<UploadStatus>;
  /** Ends a session: nothing more can be sent through it. Idempotent; an unknown session is not an error. */
  cancelUpload(url: string): Promise<void>;
}

/**
 * The reading half of the object storage port ({@link ObjectStore}): what a
 * consumer that never changes the store depends on.
 */
export interface ObjectReader {
  /** A stream of the object's bytes (or an inclusive range); `AppError('NOT_FOUND')` when missing. */
  get(key: string, options?: GetOptions): Promise<Readable>;
  /** The object's metadata, or undefined when there is none. */
  stat(key: string): Promise<ObjectInfo | undefined>;
  /**
   * Every object whose key starts with `prefix` (plain string prefix, not a
   * folder), in key order; with `startAfter`, only those whose key sorts after it.
   */
  list(prefix: string, options?: FlatListOptions): AsyncIterable<ObjectInfo>;
  /**
   * With `{ delimiter: '/' }`: one level under `prefix`, the objects and the
   * common prefixes in one key order (a common prefix sorts as its own string);
   * with `startAfter`, only the entries that sort after it.
   */
  list(prefix: string, options: ListOptions): AsyncIterable<ListEntry>;
}

/** The writing half of the object storage port ({@link ObjectStore}): puts and deletes. */
export interface ObjectWriter {
  /** Streams `body` into `key`, replacing any object atomically: readers see the old or the new bytes, never a mix. */
  put(key: string, body: Readable | Buffer, options: PutOptions): Promise<ObjectInfo>;
  /** Removes the object; removing a missing object is not an error. */
  delete(key: string): Promise<void>;
  /** Removes every object under `prefix` and returns how many were removed. */
  deletePrefix(prefix: string): Promise<number>;
}

/**
 * The object storage port: GCS in production, a folder locally; one object
 * that is both halves, {@link ObjectReader} and {@link ObjectWriter}. Keys are
 * `/`-separated relative paths checked by {@link assertValidKey}. Failures of
 * the storage itself (I/O, 5xx, network) are `AppError('STORAGE_UNAVAILABLE')`
 * with `retryable: true`; a store with no room left (see {@link NO_SPACE_ERRNOS})
 * is `AppError('STORAGE_FULL')`, retryable too (space can be freed).
 */
export interface ObjectStore extends ObjectReader, ObjectWriter {
  /** Resumable upload sessions, when the adapter offers them (both adapters do). */
  readonly uploads?: ResumableUploads;
}

/**
 * A `list` for a wrapper of the port: hands both overloads to `inner` with
 * their options (a delimiter listing stays one, a listing from `startAfter`
 * keeps its start), and each listing through `around` (default: untouched).
 */
export function listThrough(
  inner: ObjectReader,
  around: <T extends ObjectInfo | ListEntry>(entries: AsyncIterable<T>) => AsyncIterable<T> = (
    entries,
  ) => entries,
): ObjectReader['list'] {
  function list(prefix: string, options?: FlatListOptions): AsyncIterable<ObjectInfo>;
  function list(prefix: string, options: ListOptions): AsyncIterable<ListEntry>;
  function list(
    prefix: string,
    options?: FlatListOptions | ListOptions,
  ): AsyncIterable<ObjectInfo | ListEntry> {
    return options?.delimiter
      ? around(inner.list(prefix, options))
      : around(inner.list(prefix, options));
  }
  return list;
}

/** GCS's limit on object names, which we apply to every adapter. */
export const MAX_KEY_BYTES = 1024;

// Control characters (C0, DEL, C1): never useful in a key and dangerous in logs and paths.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

function refuse(key: string, reason: string): never {
  throw new AppError(
    'VALIDATION_FAILED',
    `Expected a relative object key but received ${JSON.stringify(key)}: ${reason}`,
    {
      context: { key },
    },
  );
}

/**
 * Throws `AppError('VALIDATION_FAILED')` unless `key` is a safe relative key:
 * non-empty, at most 1024 UTF-8 bytes, no leading `/`, no backslash, NUL or
 * other control characters, and no empty, `.` or `..` segments — so a key maps
 * to exactly one path under a folder and can never climb out of it.
 */
export function assertValidKey(key: string): void {
  if (typeof key !== 'string') refuse(String(key), `not a string (${typeof key})`);
  if (key.length === 0) refuse(key, 'it is empty');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES)
    refuse(key, `longer than ${MAX_KEY_BYTES} bytes`);
  if (CONTROL_CHARACTERS.test(key)) refuse(key, 'it contains a control character');
  if (key.includes('\\')) refuse(key, 'it contains a backslash');
  if (key.startsWith('/')) refuse(key, 'it is absolute');
  if (/^[A-Za-z]:/.test(key)) refuse(key, 'it starts with a drive letter');
  if (!key.isWellFormed()) refuse(key, 'it is not well-formed Unicode');
  for (const segment of key.split('/')) {
    if (segment === '') refuse(key, 'it has an empty segment');
    if (segment === '.' || segment === '..') refuse(key, `it has a "${segment}" segment`);
  }
}

/** True when {@link assertValidKey} accepts `key`; listings skip stored names that are not. */
export function isValidKey(key: string): boolean {
  try {
    assertValidKey(key);
    return true;
  } catch (error) {
    if (error instanceof AppError && error.code === 'VALIDATION_FAILED') return false;
    throw coerceError(error);
  }
}

/**
 * Throws `AppError('VALIDATION_FAILED')` unless `prefix` is usable with
 * {@link ObjectReader.list}: empty (everything) or a key-like string that may
 * end in `/` or in a partial segment.
 */
export function assertValidPrefix(prefix: string): void {
  if (prefix === '') return;
  // A prefix is a key with an optional trailing slash: "images/" or "images/ab".
  assertValidKey(prefix.endsWith('/') ? prefix.slice(0, -1) || '/' : prefix);
}

/**
 * Throws `AppError('VALIDATION_FAILED')` unless `options` is undefined, or has
 * no delimiter or `delimiter: '/'`, and a `startAfter` (when given) that is a
 * well-formed string.
 */
export function assertValidListOptions(options: FlatListOptions | ListOptions | undefined): void {
  if (options === undefined) return;
  const { delimiter, startAfter } = options as { delimiter: unknown; startAfter: unknown };
  if (delimiter !== undefined && delimiter !== '/') {
    throw new AppError(
      'VALIDATION_FAILED',
      `Expected '/' for delimiter but received ${JSON.stringify(delimiter)} of type ${typeof delimiter}`,
    );
  }
  if (startAfter === undefined) return;
  if (typeof startAfter !== 'string' || !startAfter.isWellFormed()) {
    throw new AppError(
      'VALIDATION_FAILED',
      `Expected a well-formed string for startAfter but received ${JSON.stringify(startAfter)} of type ${typeof startAfter}`,
    );
  }
}

/** Throws `AppError('VALIDATION_FAILED')` for a range that is not two ordered non-negative integers. */
export function assertValidRange(key: string, range: GetOptions | undefined): void {
  const start = range?.start;
  const end = range?.end;
  for (const [name, value] of [
    ['start', start],
    ['end', end],
  ] as const) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
      throw new AppError(
        'VALIDATION_FAILED',
        `Expected a non-negative integer for ${name} but received ${String(value)}`,
        {
          context: { key },
        },
      );
    }
  }
  if (start !== undefined && end !== undefined && end < start) {
    throw new AppError('VALIDATION_FAILED', `Expected end >= start but received ${start}-${end}`, {
      context: { key },
    });
  }
}
