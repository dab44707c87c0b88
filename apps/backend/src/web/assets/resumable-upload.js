// Resumable uploads from the admin page (docs/operations.md, "Uploads").
// Cloud Run refuses HTTP/1 requests over 32 MiB and cuts long requests, so a
// large file is not posted to the backend: the backend opens an upload
// session, the page sends the file to the session URL in chunks (Cloud
// Storage's resumable protocol: PUT with Content-Range, 308 Resume
// Incomplete with Range until the last chunk), and the backend turns the
// stored object into an image once it has checked it. A dropped connection
// resumes where the session stands; the backend is asked for that, because a
// cross-origin page may not be allowed to read Cloud Storage's Range header.

/** Files larger than this go through an upload session; smaller ones are posted whole. */
export const RESUMABLE_THRESHOLD = 8 * 1024 * 1024;

/** Attempts at one chunk before the upload gives up (network errors, 5xx, 408, 429). */
const CHUNK_ATTEMPTS = 8;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function backend(path, csrfToken, options = {}) {
  const headers = new Headers(options.headers);
  if (options.method && options.method !== 'GET') headers.set('X-CSRF-Token', csrfToken);
  if (options.json !== undefined) headers.set('Content-Type', 'application/json');
  const response = await fetch(path, {
    method: options.method ?? 'GET',
    headers,
    credentials: 'same-origin',
    body: options.json === undefined ? undefined : JSON.stringify(options.json),
  });
  const body = await response.json().catch(() => ({}));
  return { status: response.status, body };
}

/** One chunk to the session, with upload progress; resolves with the status and the Range header. */
function putChunk(url, blob, contentRange, onProgress) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    xhr.setRequestHeader('Content-Range', contentRange);
    xhr.upload.addEventListener('progress', (e) => onProgress(e.loaded));
    xhr.addEventListener('load', () =>
      resolve({ status: xhr.status, range: xhr.getResponseHeader('Range') }),
    );
    xhr.addEventListener('error', () => resolve({ status: 0, range: null }));
    xhr.addEventListener('timeout', () => resolve({ status: 0, range: null }));
    xhr.send(blob);
  });
}

const retryable = (status) => status === 0 || status === 408 || status === 429 || status >= 500;

/**
 * Uploads `file` through a session. `onProgress(bytes)` reports bytes the
 * session holds or is receiving. Resolves with `{ status, body }` shaped like
 * the answer of `POST /api/admin/upload` (202 `{images:[…]}`, or an error body).
 */
export async function uploadResumable(file, { csrfToken, onProgress = () => {} }) {
  const opened = await backend('/api/admin/upload-sessions', csrfToken, {
    method: 'POST',
    json: { name: file.name, size: file.size },
  });
  if (opened.status !== 201) return opened;
  const { id, sessionUrl, chunkBytes } = opened.body;
  const cancel = () =>
    backend(`/api/admin/upload-sessions/${id}`, csrfToken, { method: 'DELETE' }).catch(
      () => undefined,
    );
  // Where the session stands, asked through the backend (which reads Cloud Storage's answer).
  const held = async () => {
    const status = await backend(`/api/admin/upload-sessions/${id}`, csrfToken).catch(() => ({
      status: 0,
    }));
    return status.status === 200 ? status.body : undefined;
  };

  let offset = 0;
  let failures = 0;
  let complete = false;
  while (!complete) {
    const end = Math.min(offset + chunkBytes, file.size);
    const answer = await putChunk(
      sessionUrl,
      file.slice(offset, end),
      `bytes ${offset}-${end - 1}/${file.size}`,
      (loaded) => onProgress(offset + loaded),
    );
    if (answer.status === 200 || answer.status === 201) {
      complete = true;
    } else if (answer.status === 308 && answer.range) {
      offset = Number(/^bytes=0-(\d+)$/.exec(answer.range)?.[1] ?? -1) + 1;
      failures = 0;
    } else if (answer.status === 308 || retryable(answer.status)) {
      if (answer.status !== 308) {
        failures += 1;
        if (failures >= CHUNK_ATTEMPTS) {
          await cancel();
          return {
            status: 0,
            body: { error: { message: 'Network error: the upload could not be resumed.' } },
          };
        }
        await sleep(Math.min(30_000, 500 * 2 ** failures));
      }
      const status = await held();
      if (status === undefined) continue;
      if (status.complete) complete = true;
      else offset = status.received;
    } else {
      // The session refused the bytes (gone, expired, a range it cannot take): give up cleanly.
      await cancel();
      return {
        status: answer.status,
        body: { error: { message: `The upload was refused (HTTP ${answer.status}).` } },
      };
    }
    onProgress(complete ? file.size : offset);
  }
  return backend(`/api/admin/upload-sessions/${id}/complete`, csrfToken, {
    method: 'POST',
    json: {},
  });
}
