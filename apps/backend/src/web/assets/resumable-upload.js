// Resumable uploads from the admin page (docs/operations.md, "Uploads").
// Cloud Run refuses HTTP/1 requests over 32 MiB and cuts long requests, and a
// phone's connection drops: a file over 1 MiB is not posted to the backend:
// the backend opens an upload session, the page sends the file to the session
// URL in chunks (upload-chunk-size.js: a few seconds of sending each; Cloud
// Storage's resumable protocol: PUT with Content-Range, 308 Resume
// Incomplete with Range until the last chunk), and the backend turns the
// stored object into an image once it has checked it. A dropped connection
// resumes where the session stands; the backend is asked for that, because a
// cross-origin page may not be allowed to read Cloud Storage's Range header.
// The upload panel (admin-upload-send.js) drives it: it keeps the session to
// resume after a longer drop, and cancels it (and the complete's image, by
// its X-Upload-Id) when the admin cancels.
import { api, idPath } from './admin-api.js';
import { chunkSize } from './upload-chunk-size.js';

/**
 * Files larger than this go through an upload session; smaller ones are posted
 * whole (and through a session too once a drop cut their post:
 * admin-upload-send.js). A session costs two requests more than a post (open
 * and complete; in production the backend also opens the Cloud Storage session
 * and reads the object back): a few hundred milliseconds from a phone. A
 * dropped post loses all it sent, and the whole file goes again: 1 MiB is 21 s
 * at a slow phone uplink of 50 KB/s, 1 s even at 1 MB/s. Most phone photos
 * (a 12 MP JPEG is 2–5 MB, a HEIC 1–3 MB) are over it.
 */
export const RESUMABLE_THRESHOLD = 1024 * 1024;

/** The speed (bytes/s) the last chunk of any upload was sent at: the next file's first chunk fits it. */
let lastBytesPerSecond;

/** Attempts at one chunk before the upload stops as interrupted (network errors, 5xx, 408, 429). */
const CHUNK_ATTEMPTS = 8;

/**
 * Attempts at `complete` whose answer did not come (a cut connection, 5xx, 408, 429) before the
 * upload stops as interrupted: the backend answers a repeat with the image the first made.
 */
const COMPLETE_ATTEMPTS = 4;

/**
 * New sessions one file's upload may open after its session is gone mid-file (expired: the
 * backend cancels a session that received nothing for its TTL). One: a second loss ends it.
 */
const SESSION_RESTARTS = 1;

/** The error a chunk meets when its session is gone (404: cancelled, expired, or swept). */
const sessionGone = () =>
  Object.assign(new Error('The upload session is gone (cancelled or expired).'), {
    status: 404,
    code: 'NOT_FOUND',
    sessionGone: true,
  });

/** Waits `ms`, or less if `signal` aborts meanwhile. */
const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

/** One chunk to the session, with upload progress; resolves with the status and the Range header (status 0: no answer). */
function putChunk(url, blob, contentRange, onProgress, signal) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    const abort = () => xhr.abort();
    const done = (answer) => {
      signal.removeEventListener('abort', abort);
      resolve(answer);
    };
    signal.addEventListener('abort', abort, { once: true });
    xhr.open('PUT', url);
    xhr.setRequestHeader('Content-Range', contentRange);
    xhr.upload.addEventListener('progress', (e) => onProgress(e.loaded));
    xhr.addEventListener('load', () =>
      done({ status: xhr.status, range: xhr.getResponseHeader('Range') }),
    );
    for (const type of ['error', 'timeout', 'abort']) {
      xhr.addEventListener(type, () => done({ status: 0, range: null }));
    }
    xhr.send(blob);
  });
}

const retryable = (status) => status === 0 || status === 408 || status === 429 || status >= 500;

/** Where the session stands, asked through the backend; undefined when it is gone (completed, cancelled, expired). */
async function sessionStatus(id) {
  try {
    return await api(`/api/admin/upload-sessions/${idPath(id)}`);
  } catch (error) {
    if (error.status === 404) return undefined;
    throw error;
  }
}

/**
 * What to do after a chunk's answer (`failures`: the failed attempts in a row,
 * this one included): `{ complete: true }`, `{ offset }` to go on from,
 * `{ interrupted: true }` after CHUNK_ATTEMPTS failures, `{}` to send the
 * same chunk again (after a backoff), or the session's refusal thrown.
 */
async function afterChunk(answer, current, failures, signal) {
  if (answer.status === 200 || answer.status === 201) return { complete: true };
  if (answer.status === 404) throw sessionGone();
  if (answer.status === 308 && answer.range) {
    return { offset: Number(/^bytes=0-(\d+)$/.exec(answer.range)?.[1] ?? -1) + 1 };
  }
  if (answer.status === 308 || retryable(answer.status)) {
    if (answer.status !== 308) {
      if (failures >= CHUNK_ATTEMPTS) return { interrupted: true };
      await sleep(Math.min(30_000, 500 * 2 ** failures), signal);
      if (signal.aborted) return {};
    }
    const status = await sessionStatus(current.id).catch(() => null);
    if (status === undefined) throw sessionGone();
    if (status?.complete) return { complete: true };
    return status ? { offset: status.received } : {};
  }
  // The session refused the bytes (a range it cannot take): give up, leaving nothing.
  await api(`/api/admin/upload-sessions/${idPath(current.id)}`, { method: 'DELETE' }).catch(
    () => undefined,
  );
  throw Object.assign(new Error(`The upload was refused (HTTP ${answer.status}).`), {
    status: answer.status,
  });
}

/**
 * Sends `file` from `offset` to the session `current`, a chunk at a time, each
 * sized by upload-chunk-size.js from the speed the chunk before it was sent
 * at. Resolves with `{ complete: true }`, `{ interrupted: true }` or
 * `{ cancelled: true }` (see uploadResumable).
 */
async function sendChunks(file, current, offset, { onProgress, signal }) {
  let failures = 0;
  let from = offset;
  for (;;) {
    if (signal.aborted) return { cancelled: true };
    const bytes = chunkSize({
      limit: current.chunkBytes,
      size: file.size,
      bytesPerSecond: lastBytesPerSecond,
    });
    const end = Math.min(from + bytes, file.size);
    const started = performance.now();
    const answer = await putChunk(
      current.sessionUrl,
      file.slice(from, end),
      `bytes ${from}-${end - 1}/${file.size}`,
      (loaded) => onProgress(from + loaded),
      signal,
    );
    if (signal.aborted) return { cancelled: true };
    // Taken: the last chunk, or one the session says it holds (a 308 with no Range holds none).
    const taken =
      answer.status === 200 || answer.status === 201 || (answer.status === 308 && answer.range);
    if (taken) {
      lastBytesPerSecond = ((end - from) * 1000) / Math.max(1, performance.now() - started);
      failures = 0;
    } else if (answer.status !== 308) {
      failures += 1;
    }
    const next = await afterChunk(answer, current, failures, signal);
    if (signal.aborted) return { cancelled: true };
    if (next.complete || next.interrupted) return next;
    if (next.offset !== undefined) from = next.offset;
    onProgress(from);
  }
}

/** Opens a session for `file` and tells `onSession`. */
async function openSession(file, onSession) {
  const opened = await api('/api/admin/upload-sessions', {
    method: 'POST',
    json: { name: file.name, size: file.size },
  });
  onSession(opened);
  return opened;
}

/**
 * Sends all of `file` to the session `current` from `offset`; when the session turns out to be
 * gone (expired between chunks), opens a new one and sends the file again from byte 0, at most
 * SESSION_RESTARTS times (each announced through `onRestart`). Resolves as sendChunks.
 */
async function sendThroughSessions(file, current, offset, hooks) {
  let session = current;
  let from = offset;
  for (let restarts = 0; ; restarts += 1) {
    hooks.onProgress(from);
    try {
      return { ...(await sendChunks(file, session, from, hooks)), session };
    } catch (error) {
      if (!error.sessionGone || hooks.signal.aborted) throw error;
      if (restarts >= SESSION_RESTARTS) {
        throw Object.assign(
          new Error(
            'The upload session expired again before the file was sent; choose the file again to upload it.',
          ),
          { status: 404 },
        );
      }
    }
    hooks.onRestart();
    session = await openSession(file, hooks.onSession);
    from = 0;
  }
}

/**
 * `complete` of the session `current`, sent again (with the same `X-Upload-Id`) when its answer
 * does not come — the backend answers a repeat with what the first made — up to
 * COMPLETE_ATTEMPTS times. Resolves with `{ body }`, `{ interrupted: true }` or
 * `{ cancelled: true }`; rejects with the backend's refusal.
 */
async function completeSession(current, { uploadId, signal }) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      const body = await api(`/api/admin/upload-sessions/${idPath(current.id)}/complete`, {
        method: 'POST',
        json: {},
        headers: uploadId ? { 'X-Upload-Id': uploadId } : {},
      });
      return { body };
    } catch (error) {
      // A cancel that reached the backend first refuses the complete (409): that is the cancel.
      if (signal.aborted) return { cancelled: true };
      if (!(error.noAnswer || retryable(error.status))) throw error;
      if (attempt >= COMPLETE_ATTEMPTS) return { interrupted: true };
      await sleep(Math.min(30_000, 500 * 2 ** attempt), signal);
      if (signal.aborted) return { cancelled: true };
    }
  }
}

/**
 * Uploads `file` through a session.
 *
 * - `session`: one this file opened before (a resume after a drop); a new one
 *   is opened when it is absent or gone.
 * - `onSession(session)`: called as soon as a session is known, so that a
 *   cancel or a later resume can name it.
 * - `onProgress(bytes)`: the bytes the session holds or is receiving.
 * - `onRestart()`: the session was gone mid-file (expired); the file goes again
 *   from byte 0 through a new one (once: a second loss rejects).
 * - `uploadId`: the `X-Upload-Id` of the `complete` request, which makes the
 *   image it creates cancellable like a posted upload's (routes/uploads.ts).
 * - `signal`: stops sending; the caller cancels the session and the upload id.
 *
 * Resolves with `{ body }` (the answer of `complete`, shaped like the answer
 * of `POST /api/admin/upload`), `{ interrupted: true }` (the network failed
 * CHUNK_ATTEMPTS times in a row, or COMPLETE_ATTEMPTS completes got no answer;
 * the session stays open for a resume) or `{ cancelled: true }` (the signal
 * aborted it). Rejects with the API's error (`status`, `code`) when the
 * backend refuses the file, or with a network error (no `status`) when a call
 * to the backend does not get through.
 */
export async function uploadResumable(
  file,
  { session, onSession = () => {}, onProgress = () => {}, onRestart = () => {}, uploadId, signal },
) {
  let current;
  let offset = 0;
  let complete = false;
  if (session) {
    const status = await sessionStatus(session.id);
    if (status) {
      current = session;
      ({ received: offset, complete } = status);
    }
  }
  current ??= await openSession(file, onSession);
  if (!complete) {
    const hooks = { onSession, onProgress, onRestart, signal };
    const sent = await sendThroughSessions(file, current, offset, hooks);
    if (!sent.complete) return sent;
    current = sent.session;
  }
  onProgress(file.size);
  if (signal.aborted) return { cancelled: true };
  return await completeSession(current, { uploadId, signal });
}
