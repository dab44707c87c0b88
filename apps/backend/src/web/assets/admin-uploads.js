// Uploads: each file is its own request (three at a time) named by a random
// X-Upload-Id, so it can be cancelled with nothing left on the server. Before
// sending, a file's sha256 is looked up: a file already uploaded is not sent
// again ("already uploaded") — which is also how a batch resumes after a
// network drop without re-sending finished files. Each row then follows its
// image to the end (queued → processing → processed with a thumbnail, or
// failed with the reason and Retry, or deleted when its image was deleted
// meanwhile — in the detail, another tab or through the API). The rows and
// the "All files" bar are drawn by admin-upload-rows.js; this file queues,
// sends, cancels, retries and follows.
// A file over 1 MiB goes through a resumable upload session instead
// (admin-upload-send.js: chunks, counted as they are sent); its Cancel
// cancels the session too, and after a longer network drop it resumes where
// the session stands.
import { api, idPath, sessionEnded } from './admin-api.js';
import { $, announce } from './admin-dom.js';
import {
  addRow,
  CANCELLABLE,
  clearFinished,
  finished,
  items,
  PAUSED,
  render,
} from './admin-upload-rows.js';
import { discardSession, sendFile } from './admin-upload-send.js';

const PARALLEL = 3;
/**
 * Largest file hashed in the browser before sending: crypto.subtle needs the
 * whole file in memory, and three are hashed at once. A larger file is sent
 * as is (the server still finds a duplicate by its hash after receiving it).
 */
const MAX_HASH_BYTES = 64 * 1024 * 1024;

const queue = [];
let running = 0;
let onAccepted = () => {};

const uploadId = () => {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replace(
    /[+/=]/g,
    (c) => ({ '+': '-', '/': '_', '=': '' })[c],
  );
};

async function sha256(file) {
  if (!globalThis.crypto?.subtle || file.size > MAX_HASH_BYTES) return null;
  const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Applies the server's view of the item's image (status, failure, thumbnail). */
function follow(item, image) {
  item.image = image;
  item.imageId = image.id;
  if (image.status === 'failed') {
    item.stage = 'failed';
    item.error = image.failure ?? { code: image.lastErrorCode };
  } else {
    item.stage = image.status;
  }
  render(item);
}

/** The upload's answer for its file: the row now follows the image. */
function accepted(item, body) {
  const image = body.images?.[0];
  const refused = body.error ?? image?.error;
  if (refused || !image) {
    item.stage = 'refused';
    item.error = refused ?? { message: 'The upload was answered without an image.' };
    render(item);
    return;
  }
  item.sent = item.size;
  item.duplicate = image.duplicate;
  item.imageId = image.id;
  item.stage = image.status;
  render(item);
  onAccepted(image.id);
}

async function send(item) {
  item.stage = 'checking';
  render(item);
  item.sha256 = item.sha256 ?? (await sha256(item.file).catch(() => null));
  if (item.stage !== 'checking') return;
  if (item.sha256) {
    const { images } = await api('/api/admin/images/lookup', {
      method: 'POST',
      json: { sha256: [item.sha256] },
    });
    if (item.stage !== 'checking') return;
    if (images[0]) {
      // A session an interrupted attempt left open is not needed any more.
      await discardSession(item);
      item.duplicate = true;
      item.sent = item.size;
      follow(item, images[0]);
      return;
    }
  }
  item.uploadId = uploadId();
  item.stage = 'sending';
  render(item);
  await sendFile(item, { render, accepted });
}

function pump() {
  while (running < PARALLEL && queue.length > 0) {
    const item = queue.shift();
    if (item.stage !== 'waiting') continue;
    running += 1;
    item.running = send(item)
      .catch((error) => {
        if (item.stage === 'cancelling' || item.stage === 'cancelled') return;
        // A 401: the file waits for the next login (the login form is shown), not refused.
        item.stage = error.status === 401 ? 'signed-out' : error.status ? 'refused' : 'interrupted';
        item.error = { code: error.code, message: error.message };
        render(item);
        if (error.status === 401) sessionEnded();
      })
      .finally(() => {
        running -= 1;
        pump();
      });
  }
}

/**
 * Cancels one file: not sent yet → dropped; being sent → aborted and undone on
 * the server: the upload request (or a session's complete) by its upload id,
 * then the upload session with the bytes it holds.
 */
async function cancel(item) {
  // An interrupted attempt may have reached the server before the drop (a request whose
  // answer was lost, a session holding bytes), even while a resume is checking: undo it too.
  const reached = Boolean(item.uploadId || item.session);
  const wasSending =
    item.stage === 'sending' ||
    (reached && ['waiting', 'checking', ...PAUSED].includes(item.stage));
  item.stage = wasSending ? 'cancelling' : 'cancelled';
  render(item);
  if (!wasSending) return;
  item.xhr?.abort();
  item.abort?.abort();
  try {
    // First the request: a complete still on its way is refused, one in progress is waited for.
    if (item.uploadId) {
      await api(`/api/admin/uploads/${idPath(item.uploadId)}`, { method: 'DELETE' });
    }
    // Then the session, once the sending has stopped (it may have opened one meanwhile).
    await item.running;
    await discardSession(item);
    item.stage = 'cancelled';
    item.sent = 0;
    item.imageId = undefined;
  } catch (error) {
    item.stage = 'refused';
    item.error = { code: error.code, message: `Could not cancel: ${error.message}` };
  }
  render(item);
}

async function retry(item) {
  try {
    const { image } = await api(`/api/admin/images/${idPath(item.imageId)}/retry`, {
      method: 'POST',
    });
    follow(item, image);
  } catch (error) {
    announce(error.message);
  }
}

/** Starts uploading `files` (a FileList or array). */
export function uploadFiles(files) {
  for (const file of files) queue.push(addRow(file, { cancel, retry }));
  pump();
}

/** Re-runs the files paused in `stages`; finished ones are never sent again. */
function rerun(stages) {
  for (const item of items) {
    if (stages.includes(item.stage)) {
      item.stage = 'waiting';
      render(item);
      queue.push(item);
    }
  }
  pump();
}

/** Re-runs the files the network interrupted (online again, or "Resume uploads"). */
const resume = () => rerun(['interrupted']);

/** After a login: re-runs the files the ended session stopped, and the interrupted ones. */
export const resumeAfterLogin = () => rerun([...PAUSED]);

/** Polls the images of rows that are not finished yet; an image no longer there was deleted. */
export async function refreshUploads() {
  const open = items.filter((i) => i.imageId && !finished(i));
  for (let start = 0; start < open.length; start += 500) {
    const slice = open.slice(start, start + 500);
    const { images } = await api('/api/admin/images/lookup', {
      method: 'POST',
      json: { ids: slice.map((i) => i.imageId) },
    });
    const byId = new Map(images.map((image) => [image.id, image]));
    for (const item of slice) {
      const image = byId.get(item.imageId);
      if (image) follow(item, image);
      else if (!finished(item)) {
        item.stage = 'deleted';
        render(item);
      }
    }
  }
}

/** True while something is being sent or followed. */
export const uploadsBusy = () => items.some((i) => !finished(i) && !PAUSED.has(i.stage));

/** Wires the drop zone, the file chooser and the batch buttons. */
export function initUploads({ accepted }) {
  onAccepted = accepted;
  $('choose-files').addEventListener('click', () => $('file-input').click());
  $('file-input').addEventListener('change', (e) => {
    uploadFiles(e.target.files);
    e.target.value = '';
  });
  const zone = $('dropzone');
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    uploadFiles(e.dataTransfer.files);
  });
  $('cancel-uploads').addEventListener('click', () => {
    for (const item of items) if (CANCELLABLE.has(item.stage)) cancel(item);
    announce('Remaining uploads cancelled.');
  });
  $('resume-uploads').addEventListener('click', resume);
  $('clear-uploads').addEventListener('click', clearFinished);
  window.addEventListener('online', resume);
}
