// The status panel and the jobs section: each queue's state and depth with
// Pause/Resume (Cloud Tasks queues.pause/resume behind the API), the outbox,
// "Retry all failed", and the failed tasks — file name, thumbnail or
// placeholder, the reason in words with its code, a link to the image (its
// detail has the timeline) and Retry where the API says a retry takes it. A
// failed regeneration's row has none: its image is processed and keeps its old
// variants, so it says so and links to the regeneration panel instead
// (docs/operations.md, "Presets and regeneration"). Tables are rebuilt only
// when their data changed, and give the keyboard focus back.
import {
  api,
  countOf,
  countPermanence,
  permanentRetryWarning,
  retryNoteOf,
  WORDS,
  words,
} from './admin-api.js';
import { confirmAction } from './admin-confirm.js';
import { $, announce, el, focusFirst, replaceIfChanged, thumbnail, timeEl } from './admin-dom.js';
import { failureText } from './admin-reachability.js';

let onChanged = () => {};
/** How many images "Retry all failed" would retry (the API's count, not the rows shown). */
let retryableCount = 0;
/** Whether the table shows rows without Retry (the confirmation says they are left alone). */
let showsNotRetried = false;
/**
 * Rows "Retry all failed" takes whose failure is permanent, by the rows' `permanent`
 * (an image error, a missing original): the confirmation warns.
 */
let permanentCounts = { image: 0, 'original-missing': 0 };
/** Whether {@link permanentCounts} saw only part of the rows (the listing stopped at its limit). */
let permanentCountIsPartial = false;

/** Refreshes the status counts; returns them. */
export async function refreshStatus() {
  const s = await api('/status');
  const counts = s.counts ?? {};
  const items = [
    ['Queued', (counts.uploaded ?? 0) + (counts.queued ?? 0)],
    ['Processing', counts.processing ?? 0],
    ['Processed', counts.processed ?? 0],
    ['Failed', counts.failed ?? 0],
    ['Outbox', s.outbox?.pending ?? 0],
    [
      'Oldest waiting',
      s.oldestWaitingAgeSeconds ? `${Math.round(s.oldestWaitingAgeSeconds)} s` : '—',
    ],
    ['Failures, last hour', s.failuresLastHour ?? 0],
  ];
  replaceIfChanged($('status'), JSON.stringify(items), () =>
    items.map(([k, v]) => el('div', {}, el('dt', {}, k), el('dd', {}, String(v)))),
  );
  return counts;
}

function queueRow(q) {
  if (q.error) {
    return el(
      'tr',
      { 'data-queue': q.queue },
      el('th', { scope: 'row' }, q.queue),
      el('td', { colspan: 5 }, words(q.error)),
    );
  }
  const paused = q.state === 'PAUSED';
  const action = paused ? 'resume' : 'pause';
  return el(
    'tr',
    { 'data-queue': q.queue, 'data-state': q.state },
    el(
      'th',
      { scope: 'row' },
      q.queue,
      el('br'),
      el('small', { class: 'muted' }, q.name.split('/').pop()),
    ),
    el(
      'td',
      { 'data-label': 'State' },
      el(
        'span',
        { class: `badge ${paused ? 'failed' : 'processed'}` },
        paused ? 'paused' : q.state.toLowerCase(),
      ),
    ),
    el('td', { 'data-label': 'Waiting' }, q.tasksCount ?? '—'),
    el('td', { 'data-label': 'Running' }, q.concurrentDispatchesCount ?? '—'),
    el('td', { 'data-label': 'Next due' }, timeEl(q.oldestEstimatedArrivalTime)),
    el(
      'td',
      {},
      el(
        'button',
        {
          type: 'button',
          'data-focus': `queue:${q.queue}`,
          'aria-label': `${paused ? 'Resume' : 'Pause'} dispatch from the ${q.queue} queue`,
          onclick: () => setQueue(q.queue, action),
        },
        paused ? 'Resume' : 'Pause',
      ),
    ),
  );
}

async function setQueue(queue, action) {
  try {
    const { queue: q } = await api(`/api/admin/queues/${encodeURIComponent(queue)}/${action}`, {
      method: 'POST',
    });
    announce(`The ${queue} queue is ${q.state === 'PAUSED' ? 'paused' : 'running'}.`);
    await refreshQueues();
  } catch (error) {
    announce(failureText(error));
  }
}

/** Refreshes the queue table. */
export async function refreshQueues() {
  const body = await api('/api/admin/queues');
  const outbox = el(
    'tr',
    { 'data-queue': 'outbox' },
    el(
      'th',
      { scope: 'row' },
      'outbox',
      el('br'),
      el('small', { class: 'muted' }, 'in the backend, before a task exists'),
    ),
    el('td', { 'data-label': 'State' }, '—'),
    el('td', { 'data-label': 'Waiting' }, String(body.outbox.pending)),
    // The table's six columns, so the row's border runs its whole width.
    el('td', { 'data-label': 'Running' }, '—'),
    el('td', { 'data-label': 'Next due' }, '—'),
    el('td', {}),
  );
  replaceIfChanged($('queues').querySelector('tbody'), JSON.stringify(body), () => [
    ...body.queues.map(queueRow),
    outbox,
  ]);
  if (body.note) $('queues-note').textContent = body.note;
  else $('queues-note').replaceChildren('As of ', timeEl(new Date()), '.');
}

function failedRow(f) {
  const image = f.image ?? {};
  const name = image.title || image.originalName || f.imageId;
  const reason = WORDS[f.errorCode]
    ? `${WORDS[f.errorCode]} ${f.errorMessage ?? ''}`
    : (f.errorMessage ?? '');
  return el(
    'tr',
    { 'data-id': f.imageId },
    el(
      'td',
      { 'data-label': 'Image' },
      el(
        'span',
        { class: 'image-cell' },
        thumbnail({ ...image, id: f.imageId }, '3rem', ''),
        el('a', { href: `#image=${f.imageId}`, 'data-focus': `open:${f.imageId}` }, name),
      ),
    ),
    el('td', { 'data-label': 'Reason' }, reason.trim(), ' ', el('code', {}, `(${f.errorCode})`)),
    el('td', { 'data-label': 'Attempts' }, String(f.attemptCount ?? '')),
    el('td', { 'data-label': 'Last attempt' }, timeEl(f.lastAttempt)),
    el('td', { 'data-label': 'Source' }, f.source ?? ''),
    el('td', {}, f.retryable ? retryButton(f.imageId, name, f.permanent) : notRetried(f)),
  );
}

/**
 * Retry, with a note before it when the failure is permanent (the row's `permanent`:
 * an image error, a missing original); an operator may have fixed the cause, so it stays.
 */
function retryButton(id, name, permanence) {
  const note = retryNoteOf(permanence);
  return [
    el(
      'button',
      {
        type: 'button',
        'data-focus': `retry:${id}`,
        onclick: () => retry(id),
        'aria-label': `Retry ${name}`,
        'aria-describedby': note ? `retry-note-${id}` : null,
      },
      'Retry',
    ),
    note ? el('small', { class: 'muted retry-note', id: `retry-note-${id}` }, note) : null,
  ];
}

/**
 * Why a row has no Retry (the API's `retryable` is false: its image is not
 * failed). A failed regeneration's image is processed and keeps serving its old
 * variants; another run is the fix, so the link goes to the regeneration panel
 * (its heading takes focus, the panel's buttons follow it).
 */
function notRetried(f) {
  if (f.source === 'regenerate') {
    return el(
      'p',
      { class: 'not-retried' },
      'No retry: the image is processed and keeps serving its old variants. ',
      el(
        'a',
        { href: '#regen-title', 'data-focus': `regen:${f.imageId}` },
        'Start another regeneration',
      ),
    );
  }
  return el(
    'p',
    { class: 'not-retried' },
    f.image ? `No retry: the image is ${f.image.status}.` : 'No retry: the image was deleted.',
  );
}

async function retry(id) {
  try {
    await api(`/api/admin/images/${encodeURIComponent(id)}/retry`, { method: 'POST' });
    announce('Retry queued.');
    onChanged([id]);
    await refreshFailed();
  } catch (error) {
    announce(failureText(error));
  }
}

/** Refreshes the failed-tasks table. */
export async function refreshFailed() {
  const body = await api('/api/admin/failed-tasks?unresolved=true');
  const rows = body.failedTasks ?? [];
  retryableCount = body.retryableCount ?? 0;
  showsNotRetried = rows.some((f) => !f.retryable);
  permanentCounts = countPermanence(
    rows.filter((f) => f.retryable),
    (f) => f.permanent,
  );
  // The table holds the newest rows up to the listing's limit; past it the count is a lower bound.
  permanentCountIsPartial = rows.length >= (body.limit ?? 500);
  $('retry-all').disabled = retryableCount === 0;
  // A retried row leaves: the focus on its Retry goes to the next row's (or its link),
  // and with no row left to "Retry all failed", else the section's heading.
  replaceIfChanged(
    $('failed').querySelector('tbody'),
    JSON.stringify(rows),
    () => rows.map(failedRow),
    () => focusFirst($('retry-all'), $('jobs-title')),
  );
  $('failed-empty').hidden = rows.length > 0;
}

/** Wires "Retry all failed"; `changed(ids)` is told which images were retried. */
export function initJobs({ changed }) {
  onChanged = changed;
  $('retry-all').addEventListener('click', async () => {
    const ok = await confirmAction({
      title: `Retry ${countOf(retryableCount, 'failed image')}?`,
      message:
        `${retryableCount === 1 ? 'It is' : 'Each is'} processed again from its original file.` +
        permanentRetryWarning(permanentCounts, retryableCount, permanentCountIsPartial) +
        (showsNotRetried ? ' Rows without Retry are left as they are.' : ''),
      confirmLabel: 'Retry all',
    });
    if (!ok) return;
    try {
      const { retried, skipped } = await api('/api/admin/failed-tasks/retry', {
        method: 'POST',
        json: {},
      });
      announce(`${retried.length} retried${skipped.length ? `, ${skipped.length} skipped` : ''}.`);
      onChanged(retried);
      await refreshFailed();
    } catch (error) {
      announce(failureText(error));
    }
  });
}
