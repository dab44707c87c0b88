// The image detail dialog, opened by the deep link #image=<id> (cards, upload
// rows and failed tasks link there): preview, facts, the editable title,
// caption and alt text with "show in slideshow", retry and delete, the
// image's timeline (uploaded, dispatched, each attempt with its execution,
// the outcome) and its variants.
import { api, idPath, isImageErrorCode, PERMANENT_RETRY_NOTE, words } from './admin-api.js';
import { confirmAction } from './admin-confirm.js';
import {
  $,
  announce,
  displayName,
  el,
  fmtBytes,
  fmtTime,
  focusFirst,
  focusLost,
  placeholderUrl,
  thumbnail,
} from './admin-dom.js';
import { failureText } from './admin-reachability.js';

let onChanged = () => {};
let openId = null;
/** The image whose details the open dialog shows. */
let shownId = null;
/**
 * The `data-focus` key of what had the keyboard focus when the dialog opened.
 * Closing gives the focus back to that element, but a save re-renders the
 * image's card (and a poll an upload row's links): the element is then a new
 * one with the same key, which gets the focus instead.
 */
let openerKey;
/** The location.hash the dialog was last shown for: only that link is cleared when it closes. */
let dialogHash = null;

const EVENT_TEXT = {
  uploaded: 'Uploaded',
  dispatched: 'Task created in Cloud Tasks',
  started: 'Attempt started',
  processed: 'Processed',
  failed: 'Failed',
  requeued: 'Queued again',
};

/** The Workflows execution states in words (the Executions API's `state`). */
const EXECUTION_TEXT = {
  QUEUED: 'queued',
  ACTIVE: 'running',
  SUCCEEDED: 'ran to completion',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  UNAVAILABLE: 'state unavailable',
};

/** The code the image failed with: its failed task's, else its last error's. */
const failureCode = (image) => image.failedTask?.errorCode ?? image.lastErrorCode ?? null;

/**
 * The workflow execution in plain words. The processor exits 0 on a permanent
 * image error (the failure is reported, not retried), so a failed image's
 * execution SUCCEEDED: that reads "ran to completion — the image failed".
 */
function executionText(image) {
  const execution = image.executionState;
  if (!execution) return '—';
  let text = EXECUTION_TEXT[execution.state] ?? execution.state.toLowerCase();
  if (execution.state === 'SUCCEEDED' && image.status === 'failed') {
    const code = failureCode(image);
    text += ` — the image failed${code ? ` (${code})` : ''}`;
  }
  return [
    `${text.charAt(0).toUpperCase()}${text.slice(1)}`,
    el('br'),
    el('small', { class: 'muted' }, execution.name.split('/').pop()),
  ];
}

function timelineItem(e) {
  const parts = [`${fmtTime(e.at)} — ${EVENT_TEXT[e.kind] ?? e.kind} (generation ${e.generation})`];
  if (e.kind === 'started' && e.attempt) parts.push(`attempt ${e.attempt}`);
  if (e.execution) parts.push(`execution ${e.execution}`);
  if (e.kind === 'failed') parts.push(words({ code: e.code, message: e.detail }));
  if (e.kind === 'requeued') parts.push(e.detail === 'reaper' ? 'by the reaper' : 'by a retry');
  if (e.kind === 'dispatched' && e.detail) parts.push(e.detail);
  return el('li', { 'data-kind': e.kind }, parts.join(', '));
}

function field(id, label, control, hint) {
  return el(
    'div',
    { class: 'field' },
    el('label', { for: id }, label),
    control,
    hint ? el('small', { class: 'muted', id: `${id}-hint` }, hint) : null,
  );
}

function describeForm(image) {
  const status = el('p', { role: 'status', class: 'muted', id: 'describe-status' });
  const form = el(
    'form',
    { class: 'describe', id: 'describe' },
    field(
      'describe-title',
      'Title',
      el('input', { id: 'describe-title', type: 'text', maxlength: 200 }),
    ),
    field(
      'describe-caption',
      'Caption',
      el('textarea', { id: 'describe-caption', maxlength: 2000, rows: 3 }),
    ),
    field(
      'describe-alt',
      'Alt text',
      el('textarea', {
        id: 'describe-alt',
        maxlength: 1000,
        rows: 2,
        'aria-describedby': 'describe-alt-hint',
      }),
      'What the image shows, for people who cannot see it. The slideshow reads it out.',
    ),
    el(
      'label',
      { class: 'check' },
      el('input', { type: 'checkbox', id: 'describe-published', checked: image.published }),
      'Show in the slideshow',
    ),
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Save')),
    status,
  );
  // Set as values, never markup.
  form.querySelector('#describe-title').value = image.title;
  form.querySelector('#describe-caption').value = image.caption;
  form.querySelector('#describe-alt').value = image.altText;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    status.textContent = 'Saving…';
    try {
      const { image: saved } = await api(`/api/admin/images/${idPath(image.id)}`, {
        method: 'PATCH',
        json: {
          title: form.querySelector('#describe-title').value,
          caption: form.querySelector('#describe-caption').value,
          altText: form.querySelector('#describe-alt').value,
          published: form.querySelector('#describe-published').checked,
        },
      });
      status.textContent = 'Saved.';
      $('detail-title').textContent = displayName(saved);
      onChanged([image.id]);
    } catch (error) {
      status.textContent = `Not saved: ${failureText(error)}`;
      // Deleted meanwhile (another tab, the API): its card goes too.
      if (error.status === 404) onChanged([image.id]);
    }
  });
  return form;
}

function facts(image) {
  const swatch = image.dominantColor ? el('span', { class: 'swatch' }) : null;
  if (swatch) swatch.style.backgroundColor = image.dominantColor;
  const timings = Object.entries(image.timings ?? {})
    .map(([k, v]) => `${k} ${Math.round(v)} ms`)
    .join(', ');
  const rows = [
    ['File', image.originalName],
    ['Status', image.status],
    [
      'Size',
      image.width
        ? `${image.width}×${image.height} ${image.format ?? ''}, ${fmtBytes(image.bytes)}`
        : fmtBytes(image.bytes),
    ],
    ['Dominant colour', image.dominantColor ? [swatch, ` ${image.dominantColor}`] : '—'],
    ['Attempts', String(image.attempts ?? 0)],
    ['Generation', String(image.generation ?? 0)],
    ['Timings', timings || '—'],
    ['Workflow execution', executionText(image)],
    [
      'Last error',
      image.failedTask
        ? words({ code: image.failedTask.errorCode, message: image.failedTask.errorMessage })
        : '—',
    ],
  ];
  return el('dl', {}, ...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

function variantsTable(image) {
  if (!image.variants?.length) {
    return el(
      'p',
      { class: 'muted', id: 'no-variants' },
      image.status === 'failed' ? 'No variants: processing failed.' : 'No variants yet.',
    );
  }
  return el(
    'div',
    { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'Variants' },
    el(
      'table',
      {},
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          ...['Format', 'Size', 'Bytes', 'File'].map((h) => el('th', { scope: 'col' }, h)),
        ),
      ),
      el(
        'tbody',
        {},
        ...(image.variants ?? []).map((v) =>
          el(
            'tr',
            {},
            el('td', {}, v.format),
            el('td', {}, `${v.width}×${v.height}`),
            el('td', {}, fmtBytes(v.bytes)),
            el('td', {}, el('a', { href: v.url }, v.suffix)),
          ),
        ),
      ),
    ),
  );
}

/** Retry, described by the permanent-error note when `permanent`. */
function retryButton(image, permanent) {
  return el(
    'button',
    {
      type: 'button',
      onclick: () => retry(image.id),
      'aria-describedby': permanent ? 'detail-retry-note' : null,
    },
    'Retry',
  );
}

async function retry(id) {
  try {
    await api(`/api/admin/images/${idPath(id)}/retry`, { method: 'POST' });
    announce('Retry queued.');
    onChanged([id]);
    await openDetail(id, { refresh: true });
  } catch (error) {
    announce(failureText(error));
  }
}

async function remove(image) {
  const ok = await confirmAction({
    title: `Delete ${displayName(image)}?`,
    message: 'Its file and every generated size are removed. This cannot be undone.',
    confirmLabel: 'Delete',
  });
  if (!ok) return;
  try {
    await api(`/api/admin/images/${idPath(image.id)}`, { method: 'DELETE' });
    announce(`${displayName(image)} deleted.`);
    $('detail').close();
    onChanged([image.id]);
  } catch (error) {
    announce(failureText(error));
  }
}

/**
 * Opens the dialog for `id` (also what #image=<id> does). When the dialog
 * already shows `id` it is left alone unless `refresh` (after a retry): a
 * second open of the same image — the deep link handled both by hashchange
 * and when the console finishes loading — would otherwise replace a form the
 * admin is typing into, and Save would store the blank fields.
 */
export async function openDetail(id, { refresh = false } = {}) {
  openId = id;
  const [image, { events }] = await Promise.all([
    api(`/api/images/${idPath(id)}`),
    api(`/api/admin/images/${idPath(id)}/timeline`),
  ]);
  if (openId !== id) return;
  if (!refresh && shownId === id && $('detail').open) return;
  shownId = id;
  const preview = image.thumb
    ? thumbnail(image, '(max-width: 40rem) 90vw, 25rem', image.altText)
    : placeholderUrl(image.placeholder)
      ? el('img', {
          src: placeholderUrl(image.placeholder),
          alt: 'Placeholder (not processed yet)',
        })
      : el(
          'p',
          { class: 'muted', id: 'no-preview' },
          image.status === 'failed' ? 'No preview: processing failed.' : 'No preview yet.',
        );
  // A retry of a permanent image error is allowed, with a note that it fails again.
  const permanent = isImageErrorCode(failureCode(image));
  $('detail-title').textContent = displayName(image);
  $('detail-body').replaceChildren(
    el('div', { class: 'detail-grid' }, el('div', {}, preview), facts(image)),
    describeForm(image),
    el(
      'div',
      { class: 'actions' },
      // The API's `retryable`, the same flag the library's bulk Retry counts by.
      image.retryable ? retryButton(image, permanent) : null,
      el('button', { type: 'button', class: 'danger', onclick: () => remove(image) }, 'Delete…'),
    ),
    image.retryable && permanent
      ? el('p', { class: 'muted', id: 'detail-retry-note' }, PERMANENT_RETRY_NOTE)
      : null,
    el('h3', {}, 'Timeline'),
    el('ol', { class: 'timeline', id: 'timeline' }, ...events.map(timelineItem)),
    el('h3', {}, 'Variants'),
    variantsTable(image),
  );
  showDialog();
}

/** Opens the dialog unless it is open, remembering what had the focus. */
function showDialog() {
  // The link the dialog shows now (it may change while it is open).
  dialogHash = location.hash;
  if ($('detail').open) return;
  openerKey = document.activeElement?.dataset?.focus;
  $('detail').showModal();
}

/**
 * Says, where the detail would open, that #image=<id> names no image (deleted,
 * or a wrong link): the dialog's title (read out as it opens) and the live region.
 */
function showMissing(id) {
  const shown = id.length > 60 ? `${id.slice(0, 60)}…` : id;
  shownId = null;
  $('detail-title').textContent = `No image ${shown}`;
  $('detail-body').replaceChildren(
    el(
      'p',
      { id: 'detail-missing' },
      'There is no image with this id: it was deleted, or the link is wrong.',
    ),
  );
  showDialog();
  announce(`No image ${shown}.`);
}

function fromHash() {
  const match = /^#image=(.+)$/.exec(location.hash);
  // The link no longer names an image (Back, or a link elsewhere): the dialog it opened closes.
  if (!match && dialogHash !== null && $('detail').open) $('detail').close();
  // Logged out, the console is hidden: a link opens nothing over the login form.
  if (!match || $('console-view').hidden) return;
  const id = match[1];
  // An id of another shape names no image: the API is not asked.
  if (!/^img_[a-z2-7]{26}$/.test(id)) {
    openId = null;
    showMissing(id);
    return;
  }
  openDetail(id).catch((error) => {
    if (error.status !== 404 || openId !== id) return announce(failureText(error));
    showMissing(id);
    // Deleted (in another tab, through the API): a card the library still shows goes.
    onChanged([id]);
  });
}

/** Wires the deep link and the dialog's close; `changed(ids)` is told about edits. */
export function initDetail({ changed }) {
  onChanged = changed;
  window.addEventListener('hashchange', fromHash);
  $('detail').addEventListener('close', () => {
    // Shown again before this event ran (a link followed right after the close): it is not closed.
    if ($('detail').open) return;
    const closedId = shownId ?? openId;
    openId = null;
    shownId = null;
    // The close gives the focus back, unless its element was replaced meanwhile: the focus
    // then stays on the closed dialog's button (until Chromium moves it to <body>), and the
    // element with the same key takes it. Opened by a link on load there was none: the
    // image's card takes it, else the library's heading.
    if (focusLost() || $('detail').contains(document.activeElement)) {
      const byKey = (key) =>
        key ? document.querySelector(`[data-focus="${CSS.escape(key)}"]`) : null;
      focusFirst(byKey(openerKey), byKey(closedId && `open:${closedId}`), $('library-title'));
    }
    // Only the link it showed: a link followed after the dialog closed and before this event
    // (another #image=) is opened by its hashchange, not erased.
    if (location.hash.startsWith('#image=') && location.hash === dialogHash) {
      // Cleared in place, at once: going Back instead would leave no second entry, but its
      // traversal lands later and cuts short a navigation started meanwhile (a link, a reload).
      history.replaceState(null, '', `${location.pathname}${location.search}`);
    }
    dialogHash = null;
  });
  return fromHash;
}
