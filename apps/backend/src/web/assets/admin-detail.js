// The image detail dialog, opened by the deep link #image=<id> (cards, upload
// rows and failed tasks link there): preview, facts, the editable title,
// caption and alt text with "show in slideshow", retry and delete, the
// image's timeline (uploaded, dispatched, each attempt with its execution,
// the outcome) and its variants. The read-only parts (facts, timeline,
// variants) are built by admin-detail-facts.js, the alt text's field by
// admin-alt-field.js; this file holds the dialog, its form, its actions and
// the deep link. Its Save is admin-detail-save.js: over the description's
// revision the form was loaded with, never over a version someone else saved
// meanwhile.

import { altField, markAlt } from './admin-alt-field.js';
import { api, idPath, permanenceOf, retryNoteOf } from './admin-api.js';
import { confirmAction } from './admin-confirm.js';
import { facts, failureCode, timelineItem, variantsTable } from './admin-detail-facts.js';
import { base, save } from './admin-detail-save.js';
import {
  $,
  announce,
  displayName,
  el,
  focusFirst,
  focusLost,
  limitChars,
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
/** What a Save needs of this file: the form's values, the library's refresh, a reload. */
const saving = {
  values: (form) => formValues(form),
  changed: (ids) => onChanged(ids),
  reload: (id) => openDetail(id, { refresh: true }),
};
/** Where the edits of a detail the ended session closed wait for the login (this tab only). */
const KEPT_EDITS_KEY = 'slideshow.admin.unsavedEdits';

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
      limitChars(el('input', { id: 'describe-title', type: 'text', dir: 'auto' }), 200),
    ),
    field(
      'describe-caption',
      'Caption',
      limitChars(el('textarea', { id: 'describe-caption', rows: 3, dir: 'auto' }), 2000),
    ),
    altField(),
    el(
      'label',
      { class: 'check' },
      el('input', { type: 'checkbox', id: 'describe-published', checked: image.published }),
      'Show in the slideshow',
    ),
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Save')),
    status,
  );
  base.values = {
    title: image.title,
    caption: image.caption,
    altText: image.altText,
    published: image.published,
  };
  base.revision = image.revision;
  fillForm(form, base.values);
  form.querySelector('#describe-alt').addEventListener('input', () => markAlt(form));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    save(form, image.id, base.revision, saving);
  });
  return form;
}

/** What the describe form holds, as the API's PATCH takes it. */
function formValues(form) {
  return {
    title: form.querySelector('#describe-title').value,
    caption: form.querySelector('#describe-caption').value,
    altText: form.querySelector('#describe-alt').value,
    published: form.querySelector('#describe-published').checked,
  };
}

/** Sets the describe form's fields (as values, never markup). */
function fillForm(form, values) {
  form.querySelector('#describe-title').value = values.title;
  form.querySelector('#describe-caption').value = values.caption;
  form.querySelector('#describe-alt').value = values.altText;
  form.querySelector('#describe-published').checked = values.published;
  markAlt(form);
}

/**
 * `value` with its line breaks as a textarea's value has them (\n): a caption
 * stored with \r\n (written around the API, which stores \n) reads back as
 * \n from the textarea, and would look edited.
 */
function sameLines(value) {
  return typeof value === 'string' ? value.replace(/\r\n?/g, '\n') : value;
}

/**
 * The session ended: closes the dialog (a modal one would block the login
 * form), keeping its form's unsaved edits in this tab's sessionStorage for
 * after the login. Returns whether edits are waiting there.
 */
export function closeKeepingEdits() {
  const form = $('describe');
  if ($('detail').open && form && shownId) {
    const values = formValues(form);
    const edited = Object.keys(values).some(
      (k) => sameLines(values[k]) !== sameLines(base.values?.[k]),
    );
    // With the revision and the values they were based on, so a Save after the login writes
    // over that revision only, and a conflict shows what changed meanwhile.
    const kept = { id: shownId, values, base: base.values, revision: base.revision };
    if (edited) sessionStorage.setItem(KEPT_EDITS_KEY, JSON.stringify(kept));
  }
  if ($('detail').open) $('detail').close();
  return sessionStorage.getItem(KEPT_EDITS_KEY) !== null;
}

/**
 * After the login: opens the detail the ended session closed, with its edits
 * (not saved until Save). A detail the admin opened meanwhile is not replaced:
 * the edits wait until it closes (the dialog's close listener calls this again).
 */
export async function reopenWithKeptEdits() {
  const kept = sessionStorage.getItem(KEPT_EDITS_KEY);
  if (kept === null) return;
  if ($('detail').open) {
    announce('Your unsaved changes to an image come back when this detail closes.');
    return;
  }
  sessionStorage.removeItem(KEPT_EDITS_KEY);
  const { id, values, base: keptBase, revision } = JSON.parse(kept);
  try {
    await openDetail(id, { refresh: true });
  } catch (error) {
    announce(`Your unsaved changes could not be shown again: ${failureText(error)}`);
    // Deleted meanwhile (another tab, the API): its card goes too, as for a link (fromHash).
    if (error.status === 404) onChanged([id]);
    return;
  }
  if (shownId !== id) return;
  // Only the fields the admin edited come back: the others show the image as saved now. Edits
  // kept by an older page have no base or revision: all of them, saved over this revision.
  const edited = Object.entries(values).filter(
    ([k, v]) => !keptBase || sameLines(v) !== sameLines(keptBase[k]),
  );
  fillForm($('describe'), { ...formValues($('describe')), ...Object.fromEntries(edited) });
  // Saved meanwhile: the form stands on the kept revision, so Save shows what changed.
  const changed = revision !== undefined && revision !== base.revision;
  if (changed) Object.assign(base, { values: keptBase, revision });
  $('describe-status').textContent = changed
    ? 'Your unsaved changes are back, but the image was saved meanwhile: Save shows what changed.'
    : 'Your unsaved changes are back; Save keeps them.';
}

/** Retry, described by the permanent failure's note when it has `note`. */
function retryButton(image, note) {
  return el(
    'button',
    {
      type: 'button',
      id: 'detail-retry',
      onclick: () => retry(image.id),
      'aria-describedby': note ? 'detail-retry-note' : null,
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
    // The rebuilt body no longer holds the Retry that had the focus: the new Retry (a queued
    // image has none), else Delete…, else the dialog's Close takes it. (Not the title: a
    // tabindex on it would make it what showModal focuses first.)
    if (focusLost()) {
      focusFirst($('detail-retry'), $('detail-delete'), $('detail').querySelector('.close'));
    }
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
  // A retry of a permanent failure (an image error, a missing original) is allowed, with a
  // note that it fails again unless the processor changed or the original was restored.
  const note = retryNoteOf(permanenceOf(failureCode(image)));
  $('detail-title').textContent = displayName(image);
  // Parts left out are null: filtered, as el() does (replaceChildren would write "null").
  const parts = [
    el('div', { class: 'detail-grid' }, el('div', {}, preview), facts(image)),
    describeForm(image),
    el(
      'div',
      { class: 'actions' },
      // The API's `retryable`, the same flag the library's bulk Retry counts by.
      image.retryable ? retryButton(image, note) : null,
      el(
        'button',
        { type: 'button', id: 'detail-delete', class: 'danger', onclick: () => remove(image) },
        'Delete…',
      ),
    ),
    image.retryable && note ? el('p', { class: 'muted', id: 'detail-retry-note' }, note) : null,
    el('h3', {}, 'Timeline'),
    el('ol', { class: 'timeline', id: 'timeline' }, ...events.map(timelineItem)),
    el('h3', {}, 'Variants'),
    variantsTable(image),
  ];
  $('detail-body').replaceChildren(...parts.filter(Boolean));
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
    // Edits kept over a login wait for this detail (reopenWithKeptEdits); a close by the
    // session's end (closeKeepingEdits) comes after the console was hidden, and waits on.
    if (!$('console-view').hidden) reopenWithKeptEdits();
  });
  return fromHash;
}
