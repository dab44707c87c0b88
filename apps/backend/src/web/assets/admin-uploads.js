// Uploads: each file is its own request (three at a time) named by a random
// X-Upload-Id, so it can be cancelled with nothing left on the server. Before
// sending, a file's sha256 is looked up: a file already uploaded is not sent
// again ("already uploaded") — which is also how a batch resumes after a
// network drop without re-sending finished files. Each row then follows its
// image to the end (queued → processing → processed with a thumbnail, or
// failed with the reason and Retry, or deleted when its image was deleted
// meanwhile — in the detail, another tab or through the API). The "All files" bar counts bytes sent
// and images finished, half each: it reaches 100 % only when every image has.
// A file over 8 MiB goes through a resumable upload session instead
// (admin-upload-send.js: chunks, counted as they are sent); its Cancel
// cancels the session too, and after a longer network drop it resumes where
// the session stands.
import {
  api,
  displayName,
  idPath,
  isImageErrorCode,
  PERMANENT_RETRY_NOTE,
  sessionEnded,
  words,
} from './admin-api.js';
import { $, announce, el, fmtBytes, focusFirst, thumbnail } from './admin-dom.js';
import { discardSession, sendFile } from './admin-upload-send.js';

const PARALLEL = 3;
/**
 * Largest file hashed in the browser before sending: crypto.subtle needs the
 * whole file in memory, and three are hashed at once. A larger file is sent
 * as is (the server still finds a duplicate by its hash after receiving it).
 */
const MAX_HASH_BYTES = 64 * 1024 * 1024;
const TERMINAL = new Set(['processed', 'failed', 'refused', 'cancelled', 'deleted']);
/**
 * Stages that wait for something outside the page: the network (interrupted) or a new login
 * (signed-out: the session ended before the file was accepted). Neither is busy or finished.
 */
const PAUSED = new Set(['interrupted', 'signed-out']);
/** Stages a file can still be cancelled in. */
const CANCELLABLE = new Set(['waiting', 'checking', 'sending', ...PAUSED]);
const STAGE_TEXT = {
  waiting: 'Waiting to upload…',
  checking: 'Checking whether it was already uploaded…',
  sending: 'Uploading…',
  uploaded: 'Uploaded; waiting for its processing job.',
  queued: 'Queued for processing.',
  processing: 'Processing…',
  processed: 'Processed.',
  cancelling: 'Cancelling…',
  cancelled: 'Cancelled; nothing was kept on the server.',
  deleted: 'Deleted before it finished.',
  interrupted: 'The connection dropped; it resumes when the network is back.',
  'signed-out': 'Your session has ended; it resumes once you log in again.',
};

const items = [];
const queue = [];
let running = 0;
/** Numbers the rows, for the ids their notes are referenced by. */
let rowCount = 0;
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

function finished(item) {
  return TERMINAL.has(item.stage);
}

function render(item) {
  const { row } = item;
  row.dataset.stage = item.stage;
  row.classList.toggle('accepted', Boolean(item.imageId) && !item.duplicate);
  row.classList.toggle('refused', item.stage === 'refused');
  // A refused file left nothing on the server: its bar is empty, not full.
  item.bar.value =
    item.stage === 'refused' ? 0 : item.size ? Math.round((100 * item.sent) / item.size) : 100;
  let text = STAGE_TEXT[item.stage] ?? item.stage;
  if (item.stage === 'refused') text = `Refused: ${words(item.error)}`;
  else if (item.stage === 'failed') text = `Failed: ${words(item.error)}`;
  // A copy of a file that failed before is said to be both.
  if (item.duplicate && item.stage !== 'refused') text = `Already uploaded (same file). ${text}`;
  item.stageText.textContent = text;
  // The actions are rebuilt on every change (progress, a poll): the focus stays on its button.
  const focus = item.actions.contains(document.activeElement)
    ? document.activeElement.dataset.focus
    : undefined;
  const actions = [];
  if (CANCELLABLE.has(item.stage)) {
    actions.push(
      el(
        'button',
        {
          type: 'button',
          'data-focus': `upload-cancel:${item.key}`,
          onclick: () => cancel(item),
          'aria-label': `Cancel ${item.name}`,
        },
        'Cancel',
      ),
    );
  }
  if (item.stage === 'failed' && item.imageId) {
    // A permanent image error (CORRUPT_IMAGE, …) is said before the retry is chosen.
    const permanent = isImageErrorCode(item.error?.code);
    actions.push(
      el(
        'button',
        {
          type: 'button',
          'data-focus': `upload-retry:${item.key}`,
          onclick: () => retry(item),
          'aria-label': `Retry ${item.name}`,
          'aria-describedby': permanent ? `upload-note-${item.key}` : null,
        },
        'Retry',
      ),
      permanent
        ? el(
            'small',
            { class: 'muted retry-note', id: `upload-note-${item.key}` },
            PERMANENT_RETRY_NOTE,
          )
        : null,
    );
  }
  if (item.imageId && item.stage !== 'deleted') {
    actions.push(
      el(
        'a',
        { href: `#image=${item.imageId}`, 'data-focus': `upload-details:${item.key}` },
        'Details',
      ),
    );
  }
  item.actions.replaceChildren(...actions.filter(Boolean));
  if (focus) {
    focusFirst(
      item.actions.querySelector(`[data-focus="${CSS.escape(focus)}"]`),
      item.actions.querySelector('button, a'),
      // A finished row may have no action left.
      $('clear-uploads'),
    );
  }
  if (item.image?.thumb && !item.thumbShown) {
    item.thumbShown = true;
    item.thumb.replaceChildren(thumbnail(item.image, '3rem', ''));
  }
  updateBatch();
}

function updateBatch() {
  const total = items.length;
  $('batch').hidden = total === 0;
  if (total === 0) return;
  const bytes = items.reduce((s, i) => s + i.size, 0);
  const sent = items.reduce((s, i) => s + (finished(i) && !i.imageId ? i.size : i.sent), 0);
  const done = items.filter(finished).length;
  const sentShare = bytes ? sent / bytes : 1;
  const value = Math.floor(100 * ((sentShare + done / total) / 2));
  const bar = $('batch-progress');
  bar.value = done === total ? 100 : Math.min(value, 99);
  const count = (stage) => items.filter((i) => i.stage === stage).length;
  // Each ending in its own word: a refused file never became an image, so it did not fail.
  const also = (stages) => stages.filter(count).map((stage) => `${count(stage)} ${stage}`);
  const parts = [
    `${done} of ${total} finished`,
    `${Math.floor(100 * sentShare)} % sent`,
    ...also(['processing', 'failed', 'refused', 'cancelled', 'deleted']),
  ];
  $('batch-summary').textContent = parts.join(' · ');
  bar.setAttribute('aria-valuetext', `${bar.value} %: ${parts.join(', ')}`);
  $('resume-uploads').hidden = !items.some((i) => i.stage === 'interrupted');
  $('cancel-uploads').disabled = !items.some((i) => CANCELLABLE.has(i.stage));
  if (done === total && !updateBatch.announced) {
    updateBatch.announced = true;
    const which = total === 1 ? 'The file' : total === 2 ? 'Both files' : `All ${total} files`;
    const ended = [
      `${count('processed')} processed`,
      `${count('failed')} failed`,
      ...also(['refused', 'cancelled', 'deleted']),
    ];
    announce(`${which} finished: ${ended.join(', ')}.`);
  }
  if (done < total) updateBatch.announced = false;
}

function add(file) {
  const name = displayName(file.name);
  const bar = el('progress', {
    max: 100,
    value: 0,
    'aria-label': `Upload progress of ${name}`,
  });
  const stageText = el('span', { class: 'stage' });
  const actions = el('div', { class: 'row-actions' });
  const thumb = el('span', { class: 'thumb-wrap', 'aria-hidden': 'true' });
  const row = el(
    'li',
    {},
    thumb,
    el('span', { class: 'name' }, name),
    el('span', { class: 'size' }, fmtBytes(file.size)),
    bar,
    stageText,
    actions,
  );
  rowCount += 1;
  const item = {
    key: rowCount,
    file,
    name,
    size: file.size,
    sent: 0,
    stage: 'waiting',
    row,
    bar,
    stageText,
    actions,
    thumb,
  };
  items.push(item);
  $('uploads').prepend(row);
  render(item);
  return item;
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
  for (const file of files) queue.push(add(file));
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
  $('clear-uploads').addEventListener('click', () => {
    for (const item of items.filter(finished)) {
      item.row.remove();
      items.splice(items.indexOf(item), 1);
    }
    updateBatch();
  });
  window.addEventListener('online', resume);
}
