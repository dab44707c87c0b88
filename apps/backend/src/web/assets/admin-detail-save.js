// The image detail's Save (admin-detail.js's describe form): a PATCH over the
// description's revision the form was loaded with (If-Match). When someone
// saved the image meanwhile — another admin, another tab, a bulk Hide or Show,
// a script — the API answers 412 and writes nothing; the conflict panel
// (admin-detail-conflict.js) then shows their version beside the admin's,
// announces it and takes the focus, and the admin chooses: Keep mine saves
// again over their revision, Take theirs reloads the form with their version.
import { api, idPath, ifMatch } from './admin-api.js';
import { changedFields, conflictPanel, conflictSummary } from './admin-detail-conflict.js';
import { $, announce, displayName, focusFirst, focusLost } from './admin-dom.js';
import { failureText } from './admin-reachability.js';

/**
 * The form's base: its values as last loaded or saved (what differs from them is an unsaved
 * edit) and the description's revision they are, over which alone a Save writes.
 */
export const base = { values: null, revision: null };

/**
 * Saves `form` (the image `id`'s) over `revision`. `hooks`: `values(form)` reads the form,
 * `changed(ids)` refreshes the library's cards, `reload(id)` opens the detail again.
 */
export async function save(form, id, revision, hooks) {
  const status = $('describe-status');
  status.textContent = 'Saving…';
  const values = hooks.values(form);
  try {
    const { image: saved } = await api(`/api/admin/images/${idPath(id)}`, {
      method: 'PATCH',
      json: values,
      headers: ifMatch(revision),
    });
    if ($('describe') !== form) return;
    Object.assign(base, { values, revision: saved.revision });
    status.textContent = 'Saved.';
    $('detail-title').textContent = displayName(saved);
    closeConflict(form);
    hooks.changed([id]);
  } catch (error) {
    if (error.status === 412 && error.body?.image && $('describe') === form) {
      status.textContent = '';
      showConflict(form, values, error.body.image, hooks);
      // The library's card shows their version too.
      hooks.changed([id]);
      return;
    }
    status.textContent = `Not saved: ${failureText(error)}`;
    // Deleted meanwhile (another tab, the API): its card goes too.
    if (error.status === 404) hooks.changed([id]);
  }
}

/**
 * Shows what changed on the server (`theirs`: the image as saved now) against the form's base,
 * beside `mine` (what the admin tried to save); says so and gives the panel the focus.
 */
function showConflict(form, mine, theirs, hooks) {
  const changed = changedFields(base.values, mine, theirs);
  const panel = conflictPanel({
    changed,
    mine,
    theirs,
    keepMine: () => save(form, theirs.id, theirs.revision, hooks),
    takeTheirs: () => takeTheirs(theirs.id, hooks),
  });
  const shown = $('describe-conflict');
  if (shown) shown.replaceWith(panel);
  else form.querySelector('.actions').before(panel);
  announce(conflictSummary(changed));
  panel.focus();
}

/** Removes the conflict panel once saved; the focus it held goes to Save. */
function closeConflict(form) {
  const panel = $('describe-conflict');
  if (!panel) return;
  panel.remove();
  if (focusLost()) focusFirst(form.querySelector('button[type="submit"]'));
}

/** Take theirs: the detail loaded again, its form with the image as saved now. */
async function takeTheirs(id, hooks) {
  try {
    await hooks.reload(id);
  } catch (error) {
    announce(failureText(error));
    return;
  }
  $('describe-status').textContent = 'Their version is in the form; your changes were dropped.';
  focusFirst($('describe-title'));
}
