// Sending one file of the upload panel (admin-uploads.js) once it is known
// not to be on the server yet: up to 1 MiB (RESUMABLE_THRESHOLD) in one POST
// /api/admin/upload named by the item's X-Upload-Id; larger files, and a file
// whose post a drop cut, through a resumable upload session
// (resumable-upload.js), whose chunks count as bytes sent and whose session
// the item keeps, so that a cancel can cancel it and a resume go on from
// where it stands; a session that expired mid-file is replaced once, the row
// saying so, and the file sent again from byte 0. Both settle the item through the panel's `render` and
// `accepted` — the row named as the server recorded the file — and leave it
// alone once a cancel has taken it over.
import { api, getCsrfToken, idPath } from './admin-api.js';
import { announce } from './admin-dom.js';
import { renameRow, SESSION_RESTARTED } from './admin-upload-rows.js';
import { RESUMABLE_THRESHOLD, uploadResumable } from './resumable-upload.js';

/** Cancels the item's upload session and deletes the bytes it holds (idempotent). */
export async function discardSession(item) {
  if (!item.session) return;
  await api(`/api/admin/upload-sessions/${idPath(item.session.id)}`, { method: 'DELETE' });
  item.session = undefined;
}

/** A file over RESUMABLE_THRESHOLD (or sent again after a drop), through an upload session in chunks. */
async function sendInSession(item, { render, accepted }) {
  const controller = new AbortController();
  item.abort = controller;
  item.restarted = false;
  let result;
  try {
    result = await uploadResumable(item.file, {
      session: item.session,
      onSession: (session) => {
        item.session = session;
      },
      // The session expired mid-file: the row says so while the file goes again from byte 0.
      onRestart: () => {
        if (item.stage !== 'sending') return;
        item.restarted = true;
        render(item);
        announce(`${item.name}: ${SESSION_RESTARTED}`);
      },
      onProgress: (bytes) => {
        if (item.stage !== 'sending') return;
        item.sent = Math.min(item.size, bytes);
        render(item);
      },
      uploadId: item.uploadId,
      signal: controller.signal,
    });
  } finally {
    item.abort = null;
  }
  // Cancelled meanwhile: cancel() undoes what reached the server.
  if (item.stage !== 'sending' || result.cancelled) return;
  if (result.interrupted) {
    // The session keeps what it received; a resume goes on from there.
    item.stage = 'interrupted';
    render(item);
    return;
  }
  // `complete` made the image; the session is gone with it.
  item.session = undefined;
  answered(item, result.body, accepted);
}

/**
 * The upload's answer for the item: its row takes the name the server recorded for the file
 * (`originalName`, by the rules of sanitize-name.ts), which the library shows; then `accepted`
 * settles it.
 */
function answered(item, body, accepted) {
  const recorded = body.images?.[0]?.originalName;
  if (typeof recorded === 'string' && recorded !== '') renameRow(item, recorded);
  accepted(item, body);
}

/** A post a drop cut: nothing of it is kept, and the file goes through a session from now on. */
function interrupted(item, render) {
  item.stage = 'interrupted';
  item.sent = 0;
  item.resumable = true;
  render(item);
}

/** The file in one multipart request, with upload progress. */
function sendWhole(item, { render, accepted }) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    item.xhr = xhr;
    xhr.open('POST', '/api/admin/upload');
    xhr.setRequestHeader('X-CSRF-Token', getCsrfToken());
    xhr.setRequestHeader('X-Upload-Id', item.uploadId);
    xhr.upload.addEventListener('progress', (e) => {
      if (!e.lengthComputable || item.stage !== 'sending') return;
      item.sent = Math.min(item.size, Math.round((e.loaded / e.total) * item.size));
      render(item);
    });
    xhr.addEventListener('load', () => {
      item.xhr = null;
      // Cancelled meanwhile: cancel() undoes what reached the server.
      if (item.stage !== 'sending') {
        resolve();
        return;
      }
      let body = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch (error) {
        body = { error: { message: `HTTP ${xhr.status}: ${String(error)}` } };
      }
      if (xhr.status === 401) {
        // The session ended: the caller keeps the file for the next login (signed-out).
        reject(
          Object.assign(new Error(body.error?.message ?? 'HTTP 401'), {
            status: 401,
            code: body.error?.code,
          }),
        );
        return;
      }
      if (xhr.status === 409 && body.error?.code === 'CONFLICT') {
        // Not cancelled, so the upload id was used: the browser sent the request again by itself
        // after a drop reset its connection mid-body (Chromium repeats a request on a reused
        // connection), and the backend refuses a second request with one id. The first left
        // nothing, or made the image whose answer was lost: a resume looks it up and goes on.
        interrupted(item, render);
      } else if (xhr.status >= 400) {
        item.stage = 'refused';
        item.error = body.error ?? { message: `HTTP ${xhr.status}` };
        render(item);
      } else {
        answered(item, body, accepted);
      }
      resolve();
    });
    xhr.addEventListener('error', () => {
      item.xhr = null;
      if (item.stage !== 'sending') {
        resolve();
        return;
      }
      interrupted(item, render);
      resolve();
    });
    xhr.addEventListener('abort', () => resolve());
    const form = new FormData();
    // The row's name, not the file's: a name may hold ESC or DEL (legal on Linux and macOS),
    // which a browser writes raw into the part's header and busboy refuses there, so the file
    // would be refused as a malformed body. The server removes those characters anyway.
    form.append('file', item.file, item.name);
    xhr.send(form);
  });
}

/**
 * Sends the item's file, the way its size calls for; a file whose post was cut
 * goes through a session, so that a second drop loses a chunk, not the file.
 */
export function sendFile(item, hooks) {
  return item.size > RESUMABLE_THRESHOLD || item.resumable
    ? sendInSession(item, hooks)
    : sendWhole(item, hooks);
}
