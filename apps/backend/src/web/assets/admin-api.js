// The admin API client: JSON in and out, the session's token on every
// request (X-CSRF-Token), errors as Error objects carrying the API's code, and
// error codes in words an admin understands.

/**
 * Where the session's token is kept. A session is the `sid` cookie AND this
 * token (auth/admin-auth.ts): the browser sends the cookie to every port of
 * the host, but localStorage belongs to this origin alone, and it is shared
 * by this origin's tabs and survives a reload. Read on every request, so a
 * login or logout in another tab counts here at once.
 */
const TOKEN_KEY = 'slideshow.admin.sessionToken';
/** Called when the API says the session is gone. */
let onUnauthenticated = () => {};

/** Keeps the session's token (from the login answer); '' or null forgets it (logout). */
export function setCsrfToken(token) {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}
/** The session's token, '' when there is none. */
export function getCsrfToken() {
  return localStorage.getItem(TOKEN_KEY) ?? '';
}
export function whenUnauthenticated(handler) {
  onUnauthenticated = handler;
}
/**
 * Says the session is gone: forgets `sent`, the token the refused request
 * carried (unless another tab has stored a newer one meanwhile), and shows the
 * login. Called by `api`, and directly for an upload's XMLHttpRequest.
 */
export function sessionEnded(sent = getCsrfToken()) {
  if (sent && getCsrfToken() === sent) setCsrfToken('');
  onUnauthenticated();
}

/**
 * Imaging's and the API's error codes, in words: every code of the contracts'
 * ERROR_CODES that can reach the console (an API answer, a failed_tasks row),
 * which test/console-words.test.ts checks.
 */
export const WORDS = {
  VALIDATION_FAILED: 'The request was refused as invalid.',
  FORBIDDEN:
    'A service refused access (a missing permission or credentials, in storage or at the backend); fix the setup, then retry.',
  BACKEND_UNAVAILABLE: 'The processor could not reach the backend; try again.',
  INTERNAL: 'Something failed unexpectedly on the server; the server log has the details.',
  EMPTY_FILE: 'The file is empty.',
  FILE_TOO_LARGE: 'The file is larger than the upload limit.',
  PAYLOAD_TOO_LARGE: 'The file is larger than the upload limit.',
  UNSUPPORTED_FORMAT:
    'This is not an image format we accept (JPEG, PNG, WebP, GIF, AVIF, TIFF, HEIC).',
  UNSUPPORTED_MEDIA_TYPE:
    'This is not an image format we accept (JPEG, PNG, WebP, GIF, AVIF, TIFF, HEIC).',
  SVG_NOT_ALLOWED: 'SVG images are not accepted, because they can carry scripts.',
  HEIC_NOT_SUPPORTED: 'HEIC images cannot be decoded here; export the photo as JPEG.',
  TOO_MANY_PIXELS: 'The image has too many pixels.',
  TOO_MANY_FRAMES: 'The animation has too many frames.',
  DIMENSIONS_TOO_LARGE: 'The image is too wide or too tall.',
  CORRUPT_IMAGE: 'The image is damaged or incomplete and cannot be decoded.',
  DECODER_UNAVAILABLE:
    'The processor could not load the decoder for this format (a deployment problem, not the image); retry once it is fixed.',
  UNAUTHENTICATED: 'Your session has ended; log in again.',
  CSRF_REJECTED: 'The request was refused as cross-site; reload the page.',
  RATE_LIMITED: 'Too many attempts; wait a minute and try again.',
  JOB_FAILED: 'The processing job failed on every attempt.',
  JOB_REFUSED:
    'Cloud Run refused to run the processing job (a permission or a missing job); fix the setup, then retry.',
  TIMEOUT: 'Processing took too long.',
  STUCK: 'Processing never finished.',
  STORAGE_UNAVAILABLE: 'Storage could not be reached; try again.',
  ORIGINAL_MISMATCH:
    'The stored original no longer matches the uploaded file (its SHA-256 differs); restore the original or upload the photo again.',
  VARIANTS_MISSING:
    'The image’s resized files are missing from storage (the database was restored to an earlier point); retry to make them again.',
  STORAGE_FULL: 'The server has no room left for this file; ask the operator to free space.',
  REQUEST_TIMEOUT: 'The upload stalled (nothing arrived for a while); try again.',
  NOT_READY: 'The server is starting; try again in a moment.',
  LEASE_NOT_HELD: 'The server is handing over to a new instance; try again in a moment.',
  DISPATCH_FAILED: 'The queue service could not be reached; try again.',
  DISPATCH_REFUSED:
    'The queue service refused the task (a permission or a missing queue); fix the setup, then retry.',
  NOT_FOUND: 'It no longer exists.',
  CONFLICT: 'That is not possible in the image’s current state.',
  PRECONDITION_FAILED: 'Someone else changed this image since you opened it; nothing was saved.',
};

/** Codes whose message names the specifics (which field, what broke): shown after the words. */
const DETAILED = new Set(['VALIDATION_FAILED', 'INTERNAL']);

/** An error in words, with its code: "The image is damaged… (CORRUPT_IMAGE)". */
export function words(error) {
  const code = error?.code;
  const message = error?.message;
  const known = typeof code === 'string' && Object.hasOwn(WORDS, code) ? WORDS[code] : undefined;
  let text = known ?? message ?? 'Unknown error.';
  if (known && DETAILED.has(code) && message) {
    text = `${known} ${message.charAt(0).toUpperCase()}${message.slice(1)}`;
  }
  return `${text}${code ? ` (${code})` : ''}`;
}

/**
 * The contracts' `permanenceOf` for every code it names, which the page's markup
 * carries in `data-permanence` ("CORRUPT_IMAGE:image … NOT_FOUND:original-missing"):
 * one rule, the same `scripts/requeue-failed` skips by and the failed-tasks rows'
 * `permanent`. A retry of such an image is allowed (a fixed processor may read the
 * file now, an operator may have restored the original) but fails again otherwise.
 */
const PERMANENCE = new Map(
  (document.body?.dataset.permanence ?? '')
    .split(' ')
    .filter(Boolean)
    .map((pair) => pair.split(':')),
);

/** Why a retry of a failure with `code` fails again ('image', 'original-missing'), or undefined. */
export const permanenceOf = (code) => (typeof code === 'string' ? PERMANENCE.get(code) : undefined);

/**
 * The characters the server removes from a file's name (sanitize-name.ts), from the markup's
 * `data-unsafe-name`.
 */
const UNSAFE_NAME = new RegExp(document.body?.dataset.unsafeName || '(?!)', 'gu');

/**
 * A file's name without the characters the server removes (controls, separators, bidi controls,
 * invisible format characters): what an upload row shows, and sends, before the server has
 * answered. It is not yet the library's name — the server also keeps only the last path segment,
 * drops leading dots and cuts a long name to 200 characters — so the row takes the name the
 * upload's answer gives (admin-upload-send.js).
 */
export const displayName = (name) =>
  name.normalize('NFC').replace(UNSAFE_NAME, '').trim() || 'unnamed';

/** What a retry of an image whose failure is permanent leads to, by its permanence. */
const RETRY_NOTES = {
  image: 'A permanent image error: a retry fails again unless the processor changed.',
  'original-missing':
    'The original is gone from the store: a retry fails again unless it is restored (docs/operations.md, "Backups").',
};

/** The note said before a Retry of a failure of permanence `kind`, or undefined (a retry may work). */
export const retryNoteOf = (kind) =>
  typeof kind === 'string' && Object.hasOwn(RETRY_NOTES, kind) ? RETRY_NOTES[kind] : undefined;

/** "1 image" / "3 images". */
export const countOf = (n, noun) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** "It" / "Both" / "All 3" / "2 of the 3" (with "At least" when `atLeast`): `n` of `total`. */
function whichOf(n, total, atLeast) {
  if (total === 1) return 'It';
  if (n === total) return total === 2 ? 'Both' : `All ${total}`;
  return `${atLeast ? 'At least ' : ''}${n} of the ${total}`;
}

/**
 * The confirmation's sentences about the images to retry whose failure is
 * permanent, by permanence (`counts`: {image, 'original-missing'} of `total`),
 * or '' when none is. `atLeast`: the counts were taken over part of them only
 * (a listing that stopped at its limit), so they are lower bounds.
 */
export function permanentRetryWarning(counts, total, atLeast = false) {
  // Never more than `total` (the rows may be newer than the API's count).
  const image = Math.min(counts.image ?? 0, total);
  const missing = Math.min(counts['original-missing'] ?? 0, total - image);
  const one = (n) => total === 1 || n === 1;
  let text = '';
  if (image > 0) {
    text += ` ${whichOf(image, total, atLeast)} ${one(image) ? 'has' : 'have'} a permanent image error (the file itself was refused) and will fail again unless the processor changed.`;
  }
  if (missing > 0) {
    text += one(missing)
      ? ` ${whichOf(missing, total, atLeast)} has lost its original file (gone from the store) and will fail again unless it is restored.`
      : ` ${whichOf(missing, total, atLeast)} have lost their original files (gone from the store) and will fail again unless they are restored.`;
  }
  return text;
}

/** How many of `items` have each permanence (`kindOf(item)`): {image, 'original-missing'}. */
export function countPermanence(items, kindOf) {
  const counts = { image: 0, 'original-missing': 0 };
  for (const item of items) {
    const kind = kindOf(item);
    if (kind && Object.hasOwn(counts, kind)) counts[kind] += 1;
  }
  return counts;
}

/** Calls the API; resolves with the JSON body, rejects with an Error (`code`, `status`). */
export async function api(path, options = {}) {
  const headers = new Headers(options.headers);
  const init = { ...options, headers, credentials: 'same-origin' };
  const token = getCsrfToken();
  if (token) headers.set('X-CSRF-Token', token);
  if (options.json !== undefined) {
    headers.set('Content-Type', 'application/json');
    init.body = JSON.stringify(options.json);
    delete init.json;
  }
  // No answer at all (the network is down, the server stopped): marked here, where it is
  // known, so the console's alert never mistakes another error (a TypeError of its own code).
  const response = await fetch(path, init).catch((error) => {
    throw Object.assign(new Error('no answer from the server'), { noAnswer: true, cause: error });
  });
  const body = response.status === 204 ? {} : await response.json().catch(() => ({}));
  if (response.status === 401 && !path.endsWith('/login')) sessionEnded(token);
  if (!response.ok) {
    throw Object.assign(new Error(words(body.error ?? { message: `HTTP ${response.status}` })), {
      code: body.error?.code,
      status: response.status,
      body,
    });
  }
  return body;
}

/**
 * The `If-Match` header of a write over an image's description `revision` (the API's
 * `revision`, whose strong ETag is the revision quoted), or none without one.
 */
export const ifMatch = (revision) => (revision ? { 'If-Match': `"${revision}"` } : {});

/** An image id as a path segment. */
export const idPath = (id) => encodeURIComponent(id);
