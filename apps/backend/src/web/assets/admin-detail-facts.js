// What the image detail dialog (admin-detail.js) shows of an image without
// editing it: its facts (with the workflow execution in plain words), its
// timeline (uploaded, dispatched, each attempt with its execution, the
// outcome) and its variants. The dialog, its form and its actions stay in
// admin-detail.js.
import { words } from './admin-api.js';
import { el, fmtBytes, fmtTime } from './admin-dom.js';

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
export const failureCode = (image) => image.failedTask?.errorCode ?? image.lastErrorCode ?? null;

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

/** One event of the image's timeline, as a list item. */
export function timelineItem(e) {
  const parts = [`${fmtTime(e.at)} — ${EVENT_TEXT[e.kind] ?? e.kind} (generation ${e.generation})`];
  if (e.kind === 'started' && e.attempt) parts.push(`attempt ${e.attempt}`);
  if (e.execution) parts.push(`execution ${e.execution}`);
  if (e.kind === 'failed') parts.push(words({ code: e.code, message: e.detail }));
  if (e.kind === 'requeued') parts.push(e.detail === 'reaper' ? 'by the reaper' : 'by a retry');
  if (e.kind === 'dispatched' && e.detail) parts.push(e.detail);
  return el('li', { 'data-kind': e.kind }, parts.join(', '));
}

/**
 * Names of the processor's step timings where its key alone misleads: its `total` is the
 * imaging's (decode to last encode, the writes overlapping it), and the read of the
 * original comes before it, so "total 100 ms, read 252 ms" read as a total below a part.
 */
const TIMING_LABELS = { total: 'imaging total', read: 'original read', write: 'variant writes' };

/** The image's facts: file, status, size, colour, attempts, timings, execution, last error. */
export function facts(image) {
  const swatch = image.dominantColor ? el('span', { class: 'swatch' }) : null;
  if (swatch) swatch.style.backgroundColor = image.dominantColor;
  const timings = Object.entries(image.timings ?? {})
    .map(([k, v]) => `${TIMING_LABELS[k] ?? k} ${Math.round(v)} ms`)
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

/** The image's variants as a table, or why there are none. */
export function variantsTable(image) {
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
      { class: 'variants' },
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
