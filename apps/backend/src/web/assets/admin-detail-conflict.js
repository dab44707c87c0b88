// What the image detail (admin-detail.js) shows when its Save finds that the
// image's description was saved by someone else since the form was loaded —
// another admin, another tab, a bulk Hide or Show, a script: the API's 412
// PRECONDITION_FAILED, whose body holds the image as it is now
// (apps/backend/src/library/description-revision.ts). Nothing is overwritten:
// the panel lists each field changed on the server, their value beside the
// admin's, and offers Keep mine (save again over their revision) and Take
// theirs (the form reloaded with their version).
import { el } from './admin-dom.js';

/** The described fields, in the form's order, with the form's labels. */
const FIELDS = [
  ['title', 'Title'],
  ['caption', 'Caption'],
  ['altText', 'Alt text'],
  ['published', 'Show in the slideshow'],
];

/**
 * Whether two values of a field are the same as the form shows them: a caption stored with
 * \r\n reads back from the textarea with \n.
 */
function same(a, b) {
  const lines = (v) => (typeof v === 'string' ? v.replace(/\r\n?/g, '\n') : v);
  return lines(a) === lines(b);
}

/** A field's value in words: the text, "(empty)", or shown/hidden. */
function valueText(key, value) {
  if (key === 'published') return value ? 'Shown' : 'Hidden';
  return value === '' ? '(empty)' : value;
}

/**
 * The fields `theirs` (the image as saved now) changed from `base` (what the form was loaded
 * with); when none did as the form shows them (a base it does not know), the fields where
 * theirs differs from `mine`.
 */
export function changedFields(base, mine, theirs) {
  const changed = FIELDS.filter(([key]) => base && !same(theirs[key], base[key]));
  return changed.length > 0 ? changed : FIELDS.filter(([key]) => !same(theirs[key], mine[key]));
}

/** What the announcer says of a conflict over `changed` fields. */
export function conflictSummary(changed) {
  const names = changed.map(([, label]) => label).join(', ');
  return `Not saved: someone else saved this image while you were editing it${names ? ` (changed: ${names})` : ''}. Choose Keep mine or Take theirs.`;
}

/** One changed field: its label, their value, yours (or "the same"). */
function fieldRow([key, label], mine, theirs) {
  return el(
    'tr',
    { 'data-field': key },
    el('th', { scope: 'row' }, label),
    el('td', { 'data-label': 'Saved meanwhile', class: 'theirs' }, valueText(key, theirs[key])),
    el(
      'td',
      { 'data-label': 'Yours', class: 'mine' },
      same(mine[key], theirs[key]) ? 'The same' : valueText(key, mine[key]),
    ),
  );
}

/**
 * The conflict panel for `changed` fields (from {@link changedFields}): a group labelled by its
 * message, focusable (tabindex -1) so that the focus can go to it, with Keep mine and Take
 * theirs calling `keepMine()` and `takeTheirs()`.
 */
export function conflictPanel({ changed, mine, theirs, keepMine, takeTheirs }) {
  return el(
    'div',
    {
      id: 'describe-conflict',
      class: 'conflict',
      role: 'group',
      tabindex: -1,
      'aria-labelledby': 'describe-conflict-title',
      'aria-describedby': 'describe-conflict-hint',
    },
    el(
      'p',
      { id: 'describe-conflict-title' },
      el('strong', {}, 'Someone else saved this image while you were editing it.'),
      ' Your changes are not saved yet.',
    ),
    changed.length > 0
      ? el(
          'table',
          { class: 'stack-table' },
          el('caption', {}, 'Changed since you opened it'),
          el(
            'thead',
            {},
            el(
              'tr',
              {},
              ...['Field', 'Saved meanwhile', 'Yours'].map((h) => el('th', { scope: 'col' }, h)),
            ),
          ),
          el('tbody', {}, ...changed.map((field) => fieldRow(field, mine, theirs))),
        )
      : null,
    el(
      'p',
      { class: 'muted', id: 'describe-conflict-hint' },
      'Keep mine saves your version over theirs; Take theirs shows their version and drops your changes.',
    ),
    el(
      'div',
      { class: 'actions' },
      el('button', { type: 'button', id: 'conflict-keep', onclick: keepMine }, 'Keep mine'),
      el('button', { type: 'button', id: 'conflict-take', onclick: takeTheirs }, 'Take theirs'),
    ),
  );
}
