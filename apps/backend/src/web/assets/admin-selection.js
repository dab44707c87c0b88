// The library's selection: the selected images with what the bulk bar needs
// of each (from the API's answers, never a rule of the page's), and what a
// bulk Retry takes of them — only the images the API marks `retryable`,
// confirmed with the count it leaves alone and why.
import { api, countOf, countPermanence, permanenceOf, permanentRetryWarning } from './admin-api.js';
import { confirmAction } from './admin-confirm.js';

/** Selected ids → their facts ({status, retryable, code}). */
export const selected = new Map();

const images = (n) => countOf(n, 'image');

/** The code of the image's failure (the listing's open failure, else its last error), or ''. */
export const errorCodeOf = (image) => image.failure?.code ?? image.lastErrorCode ?? '';

/** What the bulk bar needs of an image, from the API's answer (never a rule of the page's). */
export const factsOf = (image) => ({
  status: image.status,
  retryable: image.retryable === true,
  code: errorCodeOf(image),
});

/**
 * The selected ids a retry takes, how many of those failed for good by permanence
 * (an image error, a missing original: {image, 'original-missing'}), and the others
 * (left alone) with their statuses.
 */
export function retrySplit() {
  const take = [];
  const left = [];
  for (const [id, facts] of selected) (facts.retryable ? take : left).push({ id, ...facts });
  const permanent = countPermanence(take, (i) => permanenceOf(i.code));
  return { take: take.map((i) => i.id), permanent, left };
}

/** "2 processed, 1 queued": the statuses of the images a bulk retry leaves alone. */
function statusSummary(left) {
  const counts = new Map();
  for (const { status } of left) counts.set(status, (counts.get(status) ?? 0) + 1);
  return [...counts].map(([status, n]) => `${n} ${status}`).join(', ');
}

/** Asks before a bulk retry; resolves the ids to send (none when the admin cancels). */
async function confirmRetry() {
  const { take, permanent, left } = retrySplit();
  if (take.length === 0) return [];
  const alone = left.length
    ? ` ${images(left.length)} of the selection ${left.length === 1 ? 'is' : 'are'} left alone (${statusSummary(left)}): only failed images are retried.`
    : '';
  const ok = await confirmAction({
    title: `Retry ${images(take.length)}?`,
    message:
      `${take.length === 1 ? 'It is' : 'Each is'} processed again from its original file.` +
      permanentRetryWarning(permanent, take.length) +
      alone,
    confirmLabel: `Retry ${take.length}`,
  });
  return ok ? take : [];
}

/**
 * Asks what a bulk action needs asked (a retry's count, a delete's
 * confirmation) and sends it in requests of at most 500 ids; undefined when
 * there is nothing to send or the admin cancelled.
 */
export async function sendBulk(action) {
  // A retry sends only the images the API marked retryable; its 409s still guard the rest.
  const ids = action === 'retry' ? await confirmRetry() : [...selected.keys()];
  if (ids.length === 0) return undefined;
  if (
    action === 'delete' &&
    !(await confirmAction({
      title: `Delete ${images(ids.length)}?`,
      message:
        ids.length === 1
          ? 'Its file and every generated size are removed. This cannot be undone.'
          : 'Their files and every generated size are removed. This cannot be undone.',
      confirmLabel: `Delete ${ids.length}`,
    }))
  ) {
    return undefined;
  }
  const done = [];
  const failed = [];
  for (let start = 0; start < ids.length; start += 500) {
    const { results } = await api('/api/admin/images/bulk', {
      method: 'POST',
      json: { action, ids: ids.slice(start, start + 500) },
    });
    for (const r of results) (r.ok ? done : failed).push(r);
  }
  return { ids, done, failed };
}
