// The alt text's field of the image detail (admin-detail.js): why alt text
// matters, and a "No alt text" mark while the field is empty. Showing an image
// without it stays allowed; the slideshow then says the image has no
// description (slideshow-slide.js altFor).
import { el, limitChars } from './admin-dom.js';

/**
 * The alt text's field: why it matters, and a "No alt text" mark (words, read with the
 * field's description) while it is empty. An image without it may still be shown: the
 * slideshow then tells a screen reader it has no description (slideshow-slide.js altFor).
 */
export function altField() {
  return el(
    'div',
    { class: 'field' },
    el(
      'div',
      { class: 'field-head' },
      el('label', { for: 'describe-alt' }, 'Alt text'),
      el('span', { class: 'badge no-alt', id: 'describe-alt-missing', hidden: true }),
    ),
    limitChars(
      el('textarea', {
        id: 'describe-alt',
        dir: 'auto',
        rows: 2,
        'aria-describedby': 'describe-alt-missing describe-alt-hint',
      }),
      1000,
    ),
    el(
      'small',
      { class: 'muted', id: 'describe-alt-hint' },
      'What the image shows, for people who cannot see it: screen readers read it out in the ' +
        'slideshow. Without it they hear only the title (or the slide’s number) and ' +
        '“no description”. The image can be shown all the same.',
    ),
  );
}

/**
 * Text that shows nothing: white space and format characters such as U+200B, which the API
 * stores as '' (library/description.ts), so such a field is marked as empty too.
 */
const INVISIBLE_ONLY = /^[\p{White_Space}\p{Cf}]*$/u;

/** Marks the alt text's field while it is empty. */
export function markAlt(form) {
  const mark = form.querySelector('#describe-alt-missing');
  const empty = INVISIBLE_ONLY.test(form.querySelector('#describe-alt').value);
  // Emptied, not only hidden: aria-describedby reads a hidden element's text too.
  mark.textContent = empty ? 'No alt text' : '';
  mark.hidden = !empty;
  form.querySelector('#describe-alt').classList.toggle('missing', empty);
}
