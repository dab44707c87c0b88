// A library card: the checkbox that selects it (in a 44 px "Select" row of its
// own above the card's button, not over it) and the button that opens the
// image's detail — thumbnail, name, status, "hidden" and "No alt text" badges
// (words, so a screen reader reads them in the button's name, not a colour or
// an icon alone). The grid, its paging and the selection are admin-library.js.
import { displayName, el, thumbnail } from './admin-dom.js';
import { errorCodeOf, factsOf, selected } from './admin-selection.js';

/**
 * The thumbnail's width as the grid lays it out (admin.css `.grid`: columns of at
 * least 9.5rem, 0.75rem apart, two at the least; admin-panels.css: the card's
 * 0.5rem margin and 0.75rem padding up to 40rem, 1rem and 1rem above; its 1 px
 * border, the button's 1 px border), so the browser fetches the srcset width the
 * card shows and no larger. Its column breakpoints are in px: the grid's rem is
 * the root's pinned 16 px (base.css), not the browser's default a media query's
 * rem follows. Two columns up to 522 px: (100vw − 42 − 12) / 2 − 2; three up to
 * 640 (40rem): (100vw − 42 − 24) / 3 − 2; three up to 710 with the wider card
 * margins: (100vw − 66 − 24) / 3 − 2; four or more above, none wider than 191 px.
 * "45vw" up to 40rem asked for 252 px at 560 px where a column is 163: at 1.5x it
 * fetched the 640 px variant for a 245 px need.
 */
const SIZES = [
  '(max-width: 521.9px) calc(50vw - 29px)',
  '(max-width: 40rem) calc((100vw - 72px) / 3)',
  '(max-width: 709.9px) calc((100vw - 96px) / 3)',
  '191px',
].join(', ');

function cardContent(image, onSelect) {
  const name = displayName(image);
  return [
    // The checkbox's label is its 44 px hit area, a row of its own above the card's button
    // (not over it: WCAG 2.5.8). The visible "Select" is part of the accessible name (2.5.3).
    el(
      'label',
      { class: 'pick-area' },
      el('input', {
        type: 'checkbox',
        class: 'pick',
        'data-focus': `pick:${image.id}`,
        'aria-label': `Select ${name}`,
        checked: selected.has(image.id),
        onchange: (e) => onSelect(image.id, e.target.checked, image),
      }),
      'Select',
    ),
    el(
      'button',
      {
        type: 'button',
        class: 'open',
        'data-focus': `open:${image.id}`,
        onclick: () => {
          location.hash = `image=${image.id}`;
        },
      },
      thumbnail(image, SIZES, ''),
      el(
        'span',
        { class: 'meta' },
        el('span', { class: 'label', dir: 'auto' }, name),
        el('span', { class: `badge ${image.status}` }, image.status),
        image.published ? null : el('span', { class: 'badge hidden' }, 'hidden'),
      ),
      // Over the thumbnail's corner (admin.css), read last in the button's name.
      image.altText ? null : el('span', { class: 'badge no-alt' }, 'No alt text'),
    ),
  ];
}

/**
 * Whether `image` has no alt text, as the card's `data-alt-missing` holds it: the API's
 * `altText` is '' (a blank one is stored as ''), as for its `alt=missing` filter.
 */
const altMissing = (image) => String(!image.altText);

/** Whether the card `li` shows another alt-text state than `image` has now. */
export const altChanged = (li, image) => li.dataset.altMissing !== altMissing(image);

/** A new card for `image`; its checkbox calls `onSelect(id, checked, image)`. */
export function card(image, onSelect) {
  const li = el(
    'li',
    {
      'data-id': image.id,
      'data-status': image.status,
      'data-retryable': String(image.retryable === true),
      'data-error-code': errorCodeOf(image),
      'data-alt-missing': altMissing(image),
    },
    ...cardContent(image, onSelect),
  );
  li.classList.toggle('selected', selected.has(image.id));
  if (selected.has(image.id)) selected.set(image.id, factsOf(image));
  return li;
}

/** Re-renders a card in place (`onSelect` as for {@link card}), keeping the keyboard focus where it was. */
export function updateCard(li, image, onSelect) {
  const focus = li.contains(document.activeElement) ? document.activeElement.dataset.focus : null;
  li.dataset.status = image.status;
  li.dataset.retryable = String(image.retryable === true);
  li.dataset.errorCode = errorCodeOf(image);
  li.dataset.altMissing = altMissing(image);
  if (selected.has(image.id)) selected.set(image.id, factsOf(image));
  li.replaceChildren(...cardContent(image, onSelect));
  li.classList.toggle('selected', selected.has(image.id));
  if (focus) li.querySelector(`[data-focus="${CSS.escape(focus)}"]`)?.focus();
}
