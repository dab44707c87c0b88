// The library grid: search, status, visibility and missing-alt-text filters, sorts; pages of
// images fetched with the API's nextCursor ("Load more"), of which at most
// MAX_PAGES stay in the page — older ones are dropped and fetched again with
// their remembered cursor ("Show newer images"), so thousands of images cost
// the memory of a few hundred cards. Thumbnails are the smallest variants
// (srcset/sizes). Cards can be selected for bulk retry, hide, show or delete;
// the bulk Retry counts, confirms and sends only the selected images the API
// marks `retryable` (the same flag the detail and the jobs panel go by), and
// says how many it leaves alone and why. The selection is always among the
// cards shown: a search, filter or sort keeps only the selected cards it still
// shows, and a card dropped from the page (deleted, paged out) leaves it. The
// selection's facts, the bulk Retry's split and the sending are admin-selection.js;
// a card itself is admin-library-card.js.
import { api, countOf } from './admin-api.js';
import { $, announce, focusFirst } from './admin-dom.js';
import { altChanged, card, updateCard } from './admin-library-card.js';
import { failureText } from './admin-reachability.js';
import { factsOf, retrySplit, selected, sendBulk } from './admin-selection.js';

/** Pages kept in the page at once. */
const MAX_PAGES = 5;
const PAGE_SIZE = (() => {
  const asked = Number(new URLSearchParams(location.search).get('pageSize'));
  return Number.isInteger(asked) && asked >= 10 && asked <= 200 ? asked : 60;
})();
const LIVE = new Set(['uploaded', 'queued', 'processing']);

/** pages[i]: the cursor that fetches page i, the cursor after it, its ids when shown. */
let pages = [];
let first = 0;
let generation = 0;
let loading = false;
/** Selected ids → what the API last said of each: `{ status, retryable, code }`. */
let onChanged = () => {};

function query() {
  const [sort, order] = $('sort').value.split(':');
  const q = new URLSearchParams({ sort, order, limit: String(PAGE_SIZE) });
  const search = $('search').value.trim();
  if (search) q.set('q', search);
  if ($('status-filter').value) q.set('status', $('status-filter').value);
  if ($('visibility-filter').value) q.set('visibility', $('visibility-filter').value);
  if ($('alt-filter').value) q.set('alt', $('alt-filter').value);
  return q;
}

const isDefaultView = () =>
  $('sort').value === 'date:desc' &&
  !$('search').value.trim() &&
  !$('status-filter').value &&
  !$('visibility-filter').value &&
  !$('alt-filter').value;

const cardOf = (id) => $('grid').querySelector(`li[data-id="${CSS.escape(id)}"]`);
const cardsOf = (page) => page.ids.map(cardOf).filter(Boolean);

/**
 * Removes a card and its selection. A keyboard focus inside it goes to the
 * next card (else the previous one, else the library's heading), not to <body>.
 */
function removeCard(li) {
  const hadFocus = li.contains(document.activeElement);
  const neighbour = li.nextElementSibling ?? li.previousElementSibling;
  selected.delete(li.dataset.id);
  li.remove();
  if (hadFocus) focusFirst(neighbour?.querySelector('button.open'), $('library-title'));
}

/** Takes an image that no longer exists out of the grid, the selection and the pages. */
function forget(id) {
  const li = cardOf(id);
  if (li) removeCard(li);
  selected.delete(id);
  for (const page of pages) if (page.ids) page.ids = page.ids.filter((x) => x !== id);
}

/**
 * A paging button ("Load more", "Show newer images") that hid itself while
 * focused hands the focus to the first card it showed, else the library's heading.
 */
function focusAfterPaging(button, hadFocus, firstShown) {
  if (hadFocus && button.hidden) {
    focusFirst(firstShown?.querySelector('button.open'), $('library-title'));
  }
}

function updateControls() {
  const shown = $('grid').children.length;
  const last = pages[pages.length - 1];
  const focused = document.activeElement;
  $('more').hidden = !last || last.next === null || last.ids === null;
  $('newer').hidden = first === 0;
  // A status region: set only when it changes, so a poll does not announce it again.
  const undescribed = $('grid').querySelectorAll('li[data-alt-missing="true"]').length;
  const summary =
    shown === 0 && !loading
      ? 'No image matches.'
      : `Showing ${images(shown)}${first > 0 ? ` (after the first ${first * PAGE_SIZE})` : ''}` +
        `${undescribed > 0 ? `, ${undescribed} without alt text` : ''}.`;
  if ($('grid-summary').textContent !== summary) $('grid-summary').textContent = summary;
  const count = selected.size;
  $('selection-count').textContent = `${count} selected`;
  for (const button of document.querySelectorAll('[data-bulk]')) button.disabled = count === 0;
  // Retry counts only what a retry takes; with none of those selected it is off.
  const retry = document.querySelector('[data-bulk="retry"]');
  const retryable = retrySplit().take.length;
  retry.textContent = count === 0 ? 'Retry' : `Retry ${retryable}`;
  retry.disabled = retryable === 0;
  // A bulk button disabled under the keyboard focus (its action cleared the selection).
  if (focused?.dataset.bulk && focused.disabled) focusFirst($('select-all'));
  const boxes = [...$('grid').querySelectorAll('.pick')];
  const picked = boxes.filter((b) => b.checked).length;
  $('select-all').checked = boxes.length > 0 && picked === boxes.length;
  $('select-all').indeterminate = picked > 0 && picked < boxes.length;
}

/** Selects or unselects `id`; its facts come from `image` or its card's last answer. */
function select(id, on, image) {
  pick(id, on, image);
  updateControls();
}

/** {@link select} without updating the controls (select-all does that once). */
function pick(id, on, image) {
  const li = cardOf(id);
  if (on) {
    selected.set(
      id,
      image
        ? factsOf(image)
        : {
            status: li?.dataset.status ?? '',
            retryable: li?.dataset.retryable === 'true',
            code: li?.dataset.errorCode ?? '',
          },
    );
  } else selected.delete(id);
  li?.classList.toggle('selected', on);
}

const images = (n) => countOf(n, 'image');

async function fetchPage(index) {
  const q = query();
  const cursor = pages[index].cursor;
  if (cursor) q.set('cursor', cursor);
  return await api(`/api/admin/images?${q}`);
}

/** Starts over with the current query. */
export async function resetGrid() {
  const mine = ++generation;
  pages = [{ cursor: null, next: null, ids: null }];
  first = 0;
  loading = true;
  try {
    const body = await fetchPage(0);
    if (mine !== generation) return;
    const ids = body.images.map((i) => i.id);
    pages[0] = { cursor: null, next: body.nextCursor, ids };
    // Bulk actions act on what is shown: a selected image this query no longer shows leaves it.
    const shown = new Set(ids);
    for (const id of selected.keys()) if (!shown.has(id)) selected.delete(id);
    $('grid').replaceChildren(...body.images.map((image) => card(image, select)));
  } finally {
    if (mine === generation) loading = false;
    updateControls();
  }
}

async function loadMore() {
  const last = pages[pages.length - 1];
  if (loading || !last?.next) return;
  loading = true;
  const mine = generation;
  const hadFocus = document.activeElement === $('more');
  let added = [];
  try {
    const index = pages.length;
    pages.push({ cursor: last.next, next: null, ids: null });
    const body = await fetchPage(index);
    if (mine !== generation) return;
    pages[index] = { cursor: last.next, next: body.nextCursor, ids: body.images.map((i) => i.id) };
    added = body.images.map((image) => card(image, select));
    $('grid').append(...added);
    while (pages.length - first > MAX_PAGES) {
      for (const li of cardsOf(pages[first])) removeCard(li);
      pages[first].ids = null;
      first += 1;
    }
    announce(`${countOf(body.images.length, 'more image')} shown.`);
  } finally {
    loading = false;
    updateControls();
    focusAfterPaging($('more'), hadFocus, added[0]);
  }
}

async function showNewer() {
  if (loading || first === 0) return;
  loading = true;
  const mine = generation;
  const hadFocus = document.activeElement === $('newer');
  let added = [];
  try {
    const index = first - 1;
    const body = await fetchPage(index);
    if (mine !== generation) return;
    pages[index].ids = body.images.map((i) => i.id);
    pages[index].next = body.nextCursor;
    added = body.images.map((image) => card(image, select));
    $('grid').prepend(...added);
    first = index;
    // Keep the window: drop the last page, which "Load more" fetches again.
    while (pages.length - first > MAX_PAGES) {
      const dropped = pages.pop();
      for (const li of cardsOf(dropped)) removeCard(li);
    }
    announce(`${countOf(body.images.length, 'newer image')} shown.`);
  } finally {
    loading = false;
    updateControls();
    focusAfterPaging($('newer'), hadFocus, added[0]);
  }
}

/**
 * Polls the cards still on their way (uploaded, queued, processing), or every
 * card (`everyCard`: when the admin comes back to the tab); a card whose image
 * no longer exists (deleted in another tab or through the API) goes.
 */
export async function refreshGrid({ everyCard = false } = {}) {
  const live = [...$('grid').querySelectorAll('li')].filter(
    (li) => everyCard || LIVE.has(li.dataset.status),
  );
  if (live.length === 0) return;
  const asked = live.slice(0, 500).map((li) => li.dataset.id);
  const { images } = await api('/api/admin/images/lookup', {
    method: 'POST',
    json: { ids: asked },
  });
  const byId = new Map(images.map((i) => [i.id, i]));
  let changed = false;
  for (const id of asked) {
    const li = cardOf(id);
    const image = byId.get(id);
    if (!image) {
      forget(id);
      changed = true;
    } else if (li && (li.dataset.status !== image.status || altChanged(li, image))) {
      // An alt text written or cleared elsewhere changes the summary's count; a selected
      // image that failed (or left `failed`) changes what the bulk Retry takes.
      changed ||= altChanged(li, image) || selected.has(id);
      updateCard(li, image, select);
    }
  }
  if (changed) updateControls();
}

/** Puts a just-uploaded image at the top when the grid shows the newest images. */
export async function showUploaded(id) {
  if (!isDefaultView() || first !== 0 || !pages[0]?.ids || pages[0].ids.includes(id)) return;
  const { images } = await api('/api/admin/images/lookup', { method: 'POST', json: { ids: [id] } });
  if (!images[0] || pages[0].ids.includes(id)) return;
  pages[0].ids.unshift(id);
  $('grid').prepend(card(images[0], select));
  updateControls();
}

/** Updates or removes cards after an action elsewhere (detail dialog, slideshow order). */
export async function imagesChanged(ids) {
  const { images } = await api('/api/admin/images/lookup', { method: 'POST', json: { ids } });
  const byId = new Map(images.map((i) => [i.id, i]));
  for (const id of ids) {
    const li = cardOf(id);
    const image = byId.get(id);
    if (li && image) updateCard(li, image, select);
    if (!image) forget(id);
  }
  updateControls();
}

const BULK_WORDS = {
  retry: 'retried',
  hide: 'hidden',
  publish: 'shown in the slideshow',
  delete: 'deleted',
};

async function bulk(action) {
  const sent = await sendBulk(action);
  if (!sent) return;
  const { ids, done, failed } = sent;
  // The images it took leave the selection now, before the announcement: the count and the
  // bulk buttons never say the old selection once the result is announced.
  for (const r of done) {
    pick(r.id, false);
    const box = cardOf(r.id)?.querySelector('.pick');
    if (box) box.checked = false;
  }
  updateControls();
  announce(
    `${images(done.length)} ${BULK_WORDS[action]}.` +
      (failed.length ? ` ${failed.length} not: ${failed[0].error.message}` : ''),
  );
  // Refreshes these cards, the slideshow order and the counts.
  onChanged(ids);
}

/** Wires the query form, paging and bulk buttons; `changed` is called after bulk actions. */
export function initLibrary({ changed }) {
  onChanged = changed;
  let timer;
  $('search').addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(resetGrid, 250);
  });
  $('library-query').addEventListener('submit', (e) => {
    e.preventDefault();
    resetGrid();
  });
  for (const id of ['status-filter', 'visibility-filter', 'alt-filter', 'sort']) {
    $(id).addEventListener('change', () => resetGrid());
  }
  $('more').addEventListener('click', loadMore);
  $('newer').addEventListener('click', showNewer);
  // A toggle: some or none shown selected → all of them; all → none. The state is read
  // once, before the loop: the controls' update sets this box again as the cards change.
  $('select-all').addEventListener('change', (e) => {
    const on = e.target.checked;
    for (const box of $('grid').querySelectorAll('.pick')) {
      box.checked = on;
      pick(box.closest('li').dataset.id, on);
    }
    updateControls();
  });
  for (const button of document.querySelectorAll('[data-bulk]')) {
    button.addEventListener('click', () =>
      bulk(button.dataset.bulk).catch((error) => announce(failureText(error))),
    );
  }
}
