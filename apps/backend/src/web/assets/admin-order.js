// The slideshow order: the shown (published) processed images in the order
// the slideshow plays them. The list is one stop of the Tab key (a roving
// tabindex, WAI-ARIA Authoring Practices, "Developing a Keyboard Interface"):
// one item and its box and buttons are in the tab order, the others' are not;
// ArrowUp/ArrowDown on an item go to the item before or after it, Home/End to
// the first and last, and the item focused (by key, click or tap) becomes the
// one Tab reaches: at most 6 stops (the item, its box, its four buttons) for
// the whole list, where each item had its 6 (4 for the first and the last).
// Reorder by dragging, or from the keyboard — focus
// an item and press Alt+ArrowUp/ArrowDown, or use its Up/Down buttons — or on a
// touch screen, where HTML drag and drop does not start: its "To top" button,
// or a new number in its position box (1 moves it to the top) — one move, one
// save, wherever it goes. Each move is saved at once (PUT
// /api/admin/slideshow/order) and announced. "Hide" takes an image out of the
// slideshow; the focus goes on to the item that took its place (else the one
// before, else the section's heading).
import { api, idPath } from './admin-api.js';
import { $, announce, displayName, el, focusFirst, thumbnail } from './admin-dom.js';
import { failureText } from './admin-reachability.js';

let images = [];
let onChanged = () => {};
let dragged = null;
let saving = Promise.resolve();
/** Moves and hides made on this page: a refresh asked before one of them is stale. */
let localChanges = 0;
/** Whether the list was drawn once (an empty first answer still shows its empty state). */
let rendered = false;
/** The id of the item that holds the list's one tab stop. */
let currentId = null;

/** Puts `li` and its box and buttons in the tab order (`on`), or takes them out. */
function setTabStop(li, on) {
  li.tabIndex = on ? 0 : -1;
  for (const control of li.querySelectorAll('input, button')) control.tabIndex = on ? 0 : -1;
}

/** Makes `li` the item the Tab key reaches, the one that had it no longer. */
function makeCurrent(li) {
  if (li.dataset.id === currentId) return;
  const old = currentId && $('order').querySelector(`li[data-id="${CSS.escape(currentId)}"]`);
  if (old) setTabStop(old, false);
  setTabStop(li, true);
  currentId = li.dataset.id;
}

/** The item the key `key` goes to from `li` (ArrowUp/ArrowDown, Home/End), if any. */
function itemFor(li, key) {
  if (key === 'ArrowUp') return li.previousElementSibling;
  if (key === 'ArrowDown') return li.nextElementSibling;
  if (key === 'Home') return li.parentElement.firstElementChild;
  if (key === 'End') return li.parentElement.lastElementChild;
  return null;
}

/** An item's keys: Alt+ArrowUp/ArrowDown move it; ArrowUp/ArrowDown, Home, End go to another item. */
function onItemKey(e, li, image) {
  if (e.target !== li || e.ctrlKey || e.metaKey || e.shiftKey) return;
  if (e.altKey) {
    if (e.key !== 'ArrowUp' && e.key !== 'ArrowDown') return;
    e.preventDefault();
    move(image.id, e.key === 'ArrowUp' ? -1 : 1, 'item');
    return;
  }
  const next = itemFor(li, e.key);
  if (!next) return;
  e.preventDefault();
  next.focus();
}

/**
 * The item's position as a box to type a new one in (1 = the top): Enter, or
 * leaving the box, moves the item there in one move; Escape puts the number
 * back. A number out of range goes to the nearest end.
 */
function positionBox(image, index, name) {
  const box = el('input', {
    class: 'position',
    type: 'text',
    inputmode: 'numeric',
    pattern: '[0-9]*',
    enterkeyhint: 'done',
    autocomplete: 'off',
    value: String(index + 1),
    'data-focus': `pos:${image.id}`,
    'aria-label': `Position of ${name}`,
    onchange: () => {
      const wanted = Number.parseInt(box.value, 10);
      const from = images.findIndex((i) => i.id === image.id);
      if (!Number.isFinite(wanted) || from < 0) {
        box.value = String(from + 1);
        return;
      }
      const to = Math.min(images.length, Math.max(1, wanted)) - 1;
      if (to === from) box.value = String(from + 1);
      else moveTo(image.id, to, `item:${image.id}`);
    },
    onkeydown: (e) => {
      if (e.key !== 'Escape') return;
      box.value = String(images.findIndex((i) => i.id === image.id) + 1);
    },
  });
  return box;
}

function item(image, index) {
  const name = displayName(image);
  const li = el(
    'li',
    {
      'data-id': image.id,
      draggable: 'true',
      'data-focus': `item:${image.id}`,
      'aria-label': `${name}, position ${index + 1} of ${images.length}`,
    },
    positionBox(image, index, name),
    thumbnail(image, '3.5rem', ''),
    el('span', { class: 'label' }, name),
    el(
      'span',
      { class: 'row-actions' },
      el(
        'button',
        {
          type: 'button',
          'data-focus': `top:${image.id}`,
          'aria-label': `Move to top: ${name}`,
          disabled: index === 0,
          onclick: () => moveTo(image.id, 0, `top:${image.id}`),
        },
        'To top',
      ),
      el(
        'button',
        {
          type: 'button',
          'data-focus': `up:${image.id}`,
          'aria-label': `Move up: ${name}`,
          disabled: index === 0,
          onclick: () => move(image.id, -1, 'up'),
        },
        'Up',
      ),
      el(
        'button',
        {
          type: 'button',
          'data-focus': `down:${image.id}`,
          'aria-label': `Move down: ${name}`,
          disabled: index === images.length - 1,
          onclick: () => move(image.id, 1, 'down'),
        },
        'Down',
      ),
      el(
        'button',
        {
          type: 'button',
          'aria-label': `Hide ${name} from the slideshow`,
          onclick: () => hide(image),
        },
        'Hide',
      ),
    ),
  );
  setTabStop(li, image.id === currentId);
  li.addEventListener('keydown', (e) => onItemKey(e, li, image));
  li.addEventListener('dragstart', (e) => {
    dragged = image.id;
    e.dataTransfer.effectAllowed = 'move';
    e.dataTransfer.setData('text/plain', image.id);
    li.classList.add('dragging');
  });
  li.addEventListener('dragend', () => {
    dragged = null;
    li.classList.remove('dragging');
    for (const other of $('order').children) other.classList.remove('drop-before', 'drop-after');
  });
  li.addEventListener('dragover', (e) => {
    if (!dragged || dragged === image.id) return;
    e.preventDefault();
    const after = e.offsetY > li.offsetHeight / 2;
    li.classList.toggle('drop-after', after);
    li.classList.toggle('drop-before', !after);
  });
  li.addEventListener('dragleave', () => li.classList.remove('drop-before', 'drop-after'));
  li.addEventListener('drop', (e) => {
    e.preventDefault();
    const from = e.dataTransfer.getData('text/plain') || dragged;
    const after = li.classList.contains('drop-after');
    li.classList.remove('drop-before', 'drop-after');
    if (from && from !== image.id) place(from, image.id, after);
  });
  return li;
}

function focusOn(focusKey) {
  if (!focusKey) return;
  const target = $('order').querySelector(`[data-focus="${CSS.escape(focusKey)}"]`);
  // A Move button at the end of the list is disabled: keep focus on its item instead.
  (target && !target.disabled ? target : target?.closest('li'))?.focus();
}

function render(focusKey) {
  rendered = true;
  // The tab stop stays on its image while it is listed, else goes to the first.
  if (!images.some((i) => i.id === currentId)) currentId = images[0]?.id ?? null;
  $('order-empty').hidden = images.length > 0;
  $('order').replaceChildren(...images.map(item));
  focusOn(focusKey);
}

/**
 * Re-renders only the items at positions `a`..`b` (either order): a move changes the
 * positions of those alone, so a keypress in a list of 1,000 rebuilds two items, not all.
 */
function renderBetween(a, b, focusKey) {
  const list = $('order');
  for (let i = Math.min(a, b); i <= Math.max(a, b); i++) {
    list.children[i]?.replaceWith(item(images[i], i));
  }
  focusOn(focusKey);
}

function save(movedId) {
  const ids = images.map((i) => i.id);
  const index = ids.indexOf(movedId);
  saving = saving
    .then(() => api('/api/admin/slideshow/order', { method: 'PUT', json: { ids } }))
    .then(() =>
      announce(
        `${displayName(images[index])} moved to position ${index + 1} of ${ids.length}. Saved.`,
      ),
    )
    .catch((error) => announce(`The order was not saved: ${failureText(error)}`));
  return saving;
}

/** Moves the image `id` to index `to` in one move (one save); the focus goes to `focusKey`. */
function moveTo(id, to, focusKey) {
  const from = images.findIndex((i) => i.id === id);
  if (from < 0 || to < 0 || to >= images.length || to === from) return;
  localChanges++;
  const [moved] = images.splice(from, 1);
  images.splice(to, 0, moved);
  renderBetween(from, to, focusKey);
  return save(id);
}

function move(id, delta, via) {
  const from = images.findIndex((i) => i.id === id);
  return moveTo(id, from + delta, via === 'item' ? `item:${id}` : `${via}:${id}`);
}

function place(fromId, targetId, after) {
  const from = images.findIndex((i) => i.id === fromId);
  if (from < 0) return;
  localChanges++;
  const [moved] = images.splice(from, 1);
  const target = images.findIndex((i) => i.id === targetId);
  const to = after ? target + 1 : target;
  images.splice(to, 0, moved);
  renderBetween(from, to, `item:${fromId}`);
  return save(fromId);
}

async function hide(image) {
  try {
    await api(`/api/admin/images/${idPath(image.id)}`, {
      method: 'PATCH',
      json: { published: false },
    });
    announce(`${displayName(image)} hidden from the slideshow.`);
    localChanges++;
    const at = images.findIndex((i) => i.id === image.id);
    images = images.filter((i) => i.id !== image.id);
    const next = images[at] ?? images[at - 1];
    render(next ? `item:${next.id}` : undefined);
    if (!next) focusFirst($('order-title'));
    onChanged([image.id]);
  } catch (error) {
    announce(failureText(error));
  }
}

/** What a list's items show: a refresh that would show the same re-renders nothing. */
const shownKey = (list) => JSON.stringify(list.map((i) => [i.id, i.title, i.thumb?.src]));

/**
 * Reloads the list (after uploads finish, edits, bulk actions); keeps focus. It leaves the
 * items alone when the answer shows what the page shows (a re-render replaces every item,
 * which would cancel a drag under way: Chromium ends a drag whose source left the page), and
 * drops an answer a move or a hide made on this page since the request overtook: the page's
 * order is newer, and its save is on its way. A number being typed in a position box is kept.
 */
export async function refreshOrder() {
  await saving;
  const asked = localChanges;
  const body = await api('/api/admin/slideshow');
  if (localChanges !== asked) return;
  if (rendered && shownKey(body.images) === shownKey(images)) return;
  images = body.images;
  const active = $('order').contains(document.activeElement) ? document.activeElement : undefined;
  render(active?.dataset.focus);
  // A number being typed in a position box stays in the new box.
  if (active?.classList.contains('position') && document.activeElement?.matches('.position')) {
    document.activeElement.value = active.value;
  }
}

/** Wires the section; `changed(ids)` is told when an image is hidden from here. */
export function initOrder({ changed }) {
  onChanged = changed;
  // Whatever in an item takes the focus — an arrow key, a click, a tap, a move — makes it current.
  $('order').addEventListener('focusin', (e) => {
    const li = e.target.closest('#order > li');
    if (li) makeCurrent(li);
  });
}
