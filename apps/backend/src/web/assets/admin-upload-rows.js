// The upload panel's rows (admin-uploads.js sends the files): one row per
// file, drawn from its stage (waiting → checking → sending → queued →
// processing → processed, or failed with Retry, refused, cancelled, deleted,
// or paused by the network or the session) with its Cancel, Retry and Details,
// and the "All files" bar, which counts bytes sent and images finished, half
// each: it reaches 100 % only when every image has.
import { displayName, permanenceOf, retryNoteOf, words } from './admin-api.js';
import { $, announce, el, fmtBytes, focusFirst, thumbnail } from './admin-dom.js';

const TERMINAL = new Set(['processed', 'failed', 'refused', 'cancelled', 'deleted']);
/**
 * Stages that wait for something outside the page: the network (interrupted) or a new login
 * (signed-out: the session ended before the file was accepted). Neither is busy or finished.
 */
export const PAUSED = new Set(['interrupted', 'signed-out']);
/** Stages a file can still be cancelled in. */
export const CANCELLABLE = new Set(['waiting', 'checking', 'sending', ...PAUSED]);
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

/** A sending row's text once its upload session expired mid-file and a new one took the file. */
export const SESSION_RESTARTED = 'Session expired; starting again…';

/** The rows, newest last (shown newest first). */
export const items = [];
/** Numbers the rows, for the ids their notes are referenced by. */
let rowCount = 0;

/** True once the file has reached an ending (its image processed or failed, or no image). */
export function finished(item) {
  return TERMINAL.has(item.stage);
}

/** Draws the row of `item` from its stage, then the batch bar. */
export function render(item) {
  const { row } = item;
  row.dataset.stage = item.stage;
  row.classList.toggle('accepted', Boolean(item.imageId) && !item.duplicate);
  row.classList.toggle('refused', item.stage === 'refused');
  // A refused file left nothing on the server: its bar is empty, not full.
  item.bar.value =
    item.stage === 'refused' ? 0 : item.size ? Math.round((100 * item.sent) / item.size) : 100;
  let text = STAGE_TEXT[item.stage] ?? item.stage;
  if (item.stage === 'sending' && item.restarted) text = SESSION_RESTARTED;
  else if (item.stage === 'refused') text = `Refused: ${words(item.error)}`;
  else if (item.stage === 'failed') text = `Failed: ${words(item.error)}`;
  // A copy of a file that failed before is said to be both.
  if (item.duplicate && item.stage !== 'refused') text = `Already uploaded (same file). ${text}`;
  item.stageText.textContent = text;
  announceEnding(item, text);
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
          onclick: () => item.handlers.cancel(item),
          'aria-label': `Cancel ${item.name}`,
        },
        'Cancel',
      ),
    );
  }
  if (item.stage === 'failed' && item.imageId) {
    // A permanent failure (CORRUPT_IMAGE, …, a missing original) is said before the retry
    // is chosen. A failed row's error is its image's failure, never an HTTP answer.
    const note = retryNoteOf(permanenceOf(item.error?.code));
    actions.push(
      el(
        'button',
        {
          type: 'button',
          'data-focus': `upload-retry:${item.key}`,
          onclick: () => item.handlers.retry(item),
          'aria-label': `Retry ${item.name}`,
          'aria-describedby': note ? `upload-note-${item.key}` : null,
        },
        'Retry',
      ),
      note ? el('small', { class: 'muted retry-note', id: `upload-note-${item.key}` }, note) : null,
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

/**
 * Says a file's refusal or failure as it happens, naming the file (the batch's
 * end, said by {@link updateBatch}, may come minutes later); once per time
 * the file reaches it (a retry that fails again is said again).
 */
function announceEnding(item, text) {
  const ending = item.stage === 'refused' || item.stage === 'failed' ? item.stage : null;
  if (ending && item.announced !== ending) announce(`${item.name}: ${text}`);
  item.announced = ending;
}

/** The "All files" bar and summary, and the batch buttons; announces the end of a batch. */
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

/**
 * Names the row of `item` `name`: its text, its progress bar and (at the next render) its
 * buttons. A row starts with the file's name as the page can clean it ({@link addRow}) and
 * takes the server's once the upload is answered (admin-upload-send.js).
 */
export function renameRow(item, name) {
  if (item.name === name) return;
  item.name = name;
  item.nameText.textContent = name;
  item.bar.setAttribute('aria-label', `Upload progress of ${name}`);
}

/**
 * Adds the row of `file` (stage `waiting`), named as the server will name it as far as the page
 * knows (admin-api.js `displayName`); its Cancel and Retry call `handlers.cancel(item)` and
 * `handlers.retry(item)`.
 */
export function addRow(file, handlers) {
  const name = displayName(file.name);
  const bar = el('progress', {
    max: 100,
    value: 0,
    'aria-label': `Upload progress of ${name}`,
  });
  const nameText = el('span', { class: 'name', dir: 'auto' }, name);
  const stageText = el('span', { class: 'stage' });
  const actions = el('div', { class: 'row-actions' });
  const thumb = el('span', { class: 'thumb-wrap', 'aria-hidden': 'true' });
  const row = el(
    'li',
    {},
    thumb,
    nameText,
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
    nameText,
    size: file.size,
    sent: 0,
    stage: 'waiting',
    row,
    bar,
    stageText,
    actions,
    thumb,
    handlers,
  };
  items.push(item);
  $('uploads').prepend(row);
  render(item);
  return item;
}

/** Removes the finished rows ("Clear finished"). */
export function clearFinished() {
  for (const item of items.filter(finished)) {
    item.row.remove();
    items.splice(items.indexOf(item), 1);
  }
  updateBatch();
}
