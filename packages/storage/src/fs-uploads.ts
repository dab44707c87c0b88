/**
 * Resumable upload sessions for the filesystem adapter, speaking Cloud
 * Storage's protocol (object-store.ts, `ResumableUploads`) so that the local
 * stack uploads exactly as production does. The session URL is a path of the
 * application that serves it (`sessionPath` + a 256-bit random token): the
 * app's route hands each `PUT` to {@link FsUploadSessions.receive}.
 *
 * A session is two files under `<root>/.objectstore/uploads/` (inside the
 * reserved folder, so never listed as objects): `<token>.json` (key, size,
 * content type) and `<token>.data` (the bytes so far, appended chunk by chunk;
 * its size is how many bytes the session holds, which survives a restart).
 * When the last byte arrives the data goes into the key through the store's
 * own atomic `put`, and the session is marked complete. Sessions older than
 * a week are removed, as Cloud Storage expires its session URIs after a week.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError, coerceError } from '@slideshow/runtime';
import { hasCode, mapFsError, RESERVED_DIR, unlinkIfPresent } from './fs-paths.ts';
import {
  assertValidKey,
  type ObjectInfo,
  type ObjectStore,
  type OpenUploadOptions,
  type ResumableUploads,
  type UploadStatus,
} from './object-store.ts';
import { parseUploadContentRange, UPLOAD_CHUNK_MULTIPLE } from './upload-range.ts';

/** Options for {@link createFsUploadSessions}. */
export interface FsUploadSessionsOptions {
  /** The store's root folder. */
  root: string;
  /** The store the finished objects are written to (its `put` and `stat`). */
  store: Pick<ObjectStore, 'put' | 'stat'>;
  /** The URL path the app serves sessions under, ending in `/`, e.g. `/api/upload-sessions/`. */
  sessionPath: string;
  now?: () => number;
}

/** What one `PUT` to a session answers: `308` with the bytes held, or `200` with the object. */
export type ChunkAnswer = { status: 308; received: number } | { status: 200; object: ObjectInfo };

/** The session server side, for the app's route. */
export interface FsUploadSessions extends ResumableUploads {
  /**
   * One `PUT` to the session `token`: a chunk (`Content-Range: bytes F-L/T`)
   * or a status query. Errors: `NOT_FOUND` (no such session),
   * `VALIDATION_FAILED` (a range the session cannot take), `CONFLICT` (the key
   * exists already), storage errors.
   */
  receive(
    token: string,
    request: { contentRange: string | null | undefined; body: AsyncIterable<Uint8Array> },
  ): Promise<ChunkAnswer>;
}

interface SessionFile {
  key: string;
  size: number;
  contentType: string;
  createdAt: number;
  /** Set once the object is stored. */
  object?: { bytes: number; contentType: string; updated: string };
}

const TOKEN = /^[A-Za-z0-9_-]{43}$/;
/** Cloud Storage's session URI lifetime (https://cloud.google.com/storage/docs/resumable-uploads). */
const SESSION_LIFETIME_MS = 7 * 24 * 3600_000;

/** Runs each `work` after every earlier call for the same key has settled. */
function createSerialiser(): <T>(key: string, work: () => Promise<T>) => Promise<T> {
  const locks = new Map<string, Promise<unknown>>();
  return <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const previous = locks.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    locks.set(key, settled);
    void settled.then(() => {
      if (locks.get(key) === settled) locks.delete(key);
    });
    return next;
  };
}

/** Removes the session files in `dir` last modified before `cutoff` (ms). */
async function sweepExpired(dir: string, cutoff: number): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return;
    throw mapFsError(error, `${RESERVED_DIR}/uploads`, 'sweep');
  }
  for (const name of names) {
    const token = name.replace(/\.(json|data)$/, '');
    if (!TOKEN.test(token)) continue;
    const info = await stat(path.join(dir, name)).catch(() => undefined);
    if (info && info.mtimeMs < cutoff) await unlinkIfPresent(path.join(dir, name));
  }
}

/** The object a finished session stored, as its status answers it. */
function infoOf(session: SessionFile): ObjectInfo {
  return {
    key: session.key,
    bytes: session.object?.bytes ?? session.size,
    contentType: session.object?.contentType ?? session.contentType,
    updated: new Date(session.object?.updated ?? 0),
  };
}

/**
 * Checks a chunk as Cloud Storage does: it starts no later than the bytes
 * held, ends within the upload, and is a multiple of 256 KiB unless it is the
 * last; returns its length.
 */
function checkChunk(
  range: { first: number; last: number },
  received: number,
  size: number,
): number {
  const length = range.last - range.first + 1;
  if (range.first > received) {
    throw new AppError(
      'VALIDATION_FAILED',
      `the chunk starts at byte ${range.first} but the session holds ${received} bytes`,
    );
  }
  if (range.last >= size) {
    throw new AppError('VALIDATION_FAILED', `the upload is ${size} bytes`);
  }
  if (range.last + 1 < size && length % UPLOAD_CHUNK_MULTIPLE !== 0) {
    throw new AppError(
      'VALIDATION_FAILED',
      `a chunk other than the last must be a multiple of ${UPLOAD_CHUNK_MULTIPLE} bytes`,
    );
  }
  return length;
}

/** Appends the chunk's new bytes to `dataFile`; returns how many bytes the session holds afterwards. */
async function appendChunk(
  dataFile: string,
  received: number,
  first: number,
  length: number,
  body: AsyncIterable<Uint8Array>,
): Promise<number> {
  // Bytes the session already holds are skipped (a resent chunk after a lost answer).
  let skip = received - first;
  let seen = 0;
  let total = received;
  const handle = await open(dataFile, 'a');
  try {
    for await (const chunk of body) {
      seen += chunk.byteLength;
      if (seen > length) {
        throw new AppError(
          'VALIDATION_FAILED',
          `the body is longer than the ${length} bytes its Content-Range names`,
        );
      }
      let bytes = chunk;
      if (skip > 0) {
        const drop = Math.min(skip, bytes.byteLength);
        skip -= drop;
        bytes = bytes.subarray(drop);
      }
      if (bytes.byteLength > 0) {
        await handle.write(bytes);
        total += bytes.byteLength;
      }
    }
  } finally {
    await handle.close();
  }
  return total;
}

/** No such session: finished, cancelled or expired. */
function sessionNotFound(): AppError {
  return new AppError('NOT_FOUND', 'no such upload session (finished, cancelled or expired)');
}

/** A session's two files in `dir`: its record (`.json`) and the bytes received (`.data`). */
interface SessionFiles {
  paths(token: string): { json: string; data: string };
  /** The session's record; NOT_FOUND when there is none. */
  load(token: string): Promise<SessionFile>;
  /** Bytes the session holds (0 once its data file is gone). */
  held(token: string): Promise<number>;
  remove(token: string): Promise<void>;
}

/** The session files of the uploads folder `dir`. */
function createSessionFiles(dir: string): SessionFiles {
  const paths = (token: string) => ({
    json: path.join(dir, `${token}.json`),
    data: path.join(dir, `${token}.data`),
  });
  return {
    paths,
    async load(token) {
      if (!TOKEN.test(token)) throw sessionNotFound();
      try {
        return JSON.parse(await readFile(paths(token).json, 'utf8')) as SessionFile;
      } catch (error) {
        if (hasCode(error, 'ENOENT')) throw sessionNotFound();
        throw mapFsError(error, `${RESERVED_DIR}/uploads/${token}`, 'get');
      }
    },
    async held(token) {
      try {
        return (await stat(paths(token).data)).size;
      } catch (error) {
        if (hasCode(error, 'ENOENT')) return 0;
        throw mapFsError(error, `${RESERVED_DIR}/uploads/${token}`, 'stat');
      }
    },
    async remove(token) {
      const { json, data } = paths(token);
      await Promise.all([unlinkIfPresent(data), unlinkIfPresent(json)]);
    },
  };
}

/**
 * Stores a complete session's bytes as its object and marks the session
 * finished (its record keeps the object's figures for status queries).
 */
async function storeSession(
  store: Pick<ObjectStore, 'put' | 'stat'>,
  files: SessionFiles,
  token: string,
  session: SessionFile,
): Promise<ObjectInfo> {
  if (await store.stat(session.key)) {
    // Like a Cloud Storage session opened with ifGenerationMatch=0: never a replacement.
    throw new AppError('CONFLICT', `an object ${JSON.stringify(session.key)} exists already`, {
      context: { key: session.key },
    });
  }
  const object = await store.put(session.key, createReadStream(files.paths(token).data), {
    contentType: session.contentType,
    size: session.size,
  });
  const done: SessionFile = {
    ...session,
    object: {
      bytes: object.bytes,
      contentType: object.contentType,
      updated: object.updated.toISOString(),
    },
  };
  await writeFile(files.paths(token).json, JSON.stringify(done), { flush: true });
  await unlinkIfPresent(files.paths(token).data);
  return object;
}

/**
 * One `PUT` to a session: a status query (a `*` range) or a chunk, checked
 * and appended; the last byte stores the object. A finished session answers
 * with its object again.
 */
async function receiveChunk(
  files: SessionFiles,
  store: Pick<ObjectStore, 'put' | 'stat'>,
  token: string,
  request: Parameters<FsUploadSessions['receive']>[1],
): Promise<ChunkAnswer> {
  const session = await files.load(token);
  if (session.object) return { status: 200, object: infoOf(session) };
  const range = parseUploadContentRange(request.contentRange);
  if (range.total !== undefined && range.total !== session.size) {
    throw new AppError(
      'VALIDATION_FAILED',
      `the upload is ${session.size} bytes, not ${range.total}`,
    );
  }
  let received = await files.held(token);
  if (range.kind === 'bytes') {
    const length = checkChunk(range, received, session.size);
    try {
      received = await appendChunk(
        files.paths(token).data,
        received,
        range.first,
        length,
        request.body,
      );
    } catch (error) {
      const e = coerceError(error);
      if (e.code === 'VALIDATION_FAILED' || e.code === 'REQUEST_TIMEOUT') throw e;
      throw mapFsError(error, session.key, 'put');
    }
  }
  if (received >= session.size)
    return { status: 200, object: await storeSession(store, files, token, session) };
  return { status: 308, received };
}

/** Creates the session server over a filesystem store. */
export function createFsUploadSessions(options: FsUploadSessionsOptions): FsUploadSessions {
  const dir = path.join(path.resolve(options.root), RESERVED_DIR, 'uploads');
  const now = options.now ?? Date.now;
  if (!options.sessionPath.startsWith('/') || !options.sessionPath.endsWith('/')) {
    throw new TypeError(
      `Expected a path starting and ending with "/" for sessionPath but received ${JSON.stringify(options.sessionPath)} of type string`,
    );
  }
  let swept = false;

  const files = createSessionFiles(dir);
  const serialised = createSerialiser();
  const { load, held, remove } = files;

  const tokenOf = (url: string): string | undefined => {
    const pathname = new URL(url, 'http://session.invalid').pathname;
    if (!pathname.startsWith(options.sessionPath)) return undefined;
    const token = pathname.slice(options.sessionPath.length);
    return TOKEN.test(token) ? token : undefined;
  };

  return {
    async openUpload(key: string, open: OpenUploadOptions) {
      assertValidKey(key);
      if (!Number.isSafeInteger(open.size) || open.size < 0) {
        throw new TypeError(
          `Expected a non-negative integer for size but received ${String(open.size)} of type ${typeof open.size}`,
        );
      }
      // node:crypto is taken here, not imported: see fs-write.ts.
      const token = process.getBuiltinModule('node:crypto').randomBytes(32).toString('base64url');
      try {
        await mkdir(dir, { recursive: true });
        if (!swept) {
          swept = true;
          await sweepExpired(dir, now() - SESSION_LIFETIME_MS);
        }
        const session: SessionFile = {
          key,
          size: open.size,
          contentType: open.contentType,
          createdAt: now(),
        };
        await writeFile(files.paths(token).json, JSON.stringify(session), {
          flag: 'wx',
          flush: true,
        });
        await writeFile(files.paths(token).data, '', { flag: 'wx' });
      } catch (error) {
        await remove(token).catch(() => undefined);
        throw mapFsError(error, key, 'put');
      }
      return { url: `${options.sessionPath}${token}` };
    },

    async uploadStatus(url: string, size: number): Promise<UploadStatus> {
      const token = tokenOf(url);
      if (token === undefined) throw sessionNotFound();
      const session = await load(token);
      if (session.size !== size) {
        throw new AppError('VALIDATION_FAILED', `the session is for ${session.size} bytes`);
      }
      if (session.object) return { received: session.size, complete: true };
      return { received: await held(token), complete: false };
    },

    async cancelUpload(url: string): Promise<void> {
      const token = tokenOf(url);
      if (token === undefined) return;
      await serialised(token, async () => {
        try {
          await remove(token);
        } catch (error) {
          throw mapFsError(error, `${RESERVED_DIR}/uploads/${token}`, 'delete');
        }
      });
    },

    receive(token, request) {
      return serialised(token, () => receiveChunk(files, options.store, token, request));
    },
  };
}
