// The regeneration panel of the jobs section (docs/operations.md, "Presets and
// regeneration"): the current preset and version, a dry run (count, estimated
// CPU-seconds and cost, their range and what they stand on) before a Start
// button, and the current run's progress — done, failed, remaining, ETA — with
// Pause, Resume and Cancel.
import { api } from './admin-api.js';
import { confirmAction } from './admin-confirm.js';
import { $, announce, el, focusFirst, focusLost, replaceIfChanged } from './admin-dom.js';
import { etaText } from './admin-eta.js';
import { failureText } from './admin-reachability.js';

function progress(run) {
  if (!run) return [el('p', { class: 'muted' }, 'No regeneration yet.')];
  const items = [
    ['Run', `#${run.id} (${run.preset})`],
    ['Status', run.reason ? `${run.status}: ${run.reason}` : run.status],
    ['Done', `${run.done} of ${run.total}`],
    ['Failed', String(run.failed)],
    ['Remaining', String(run.remaining)],
    ['ETA', etaText(run.etaSeconds, run.status)],
    ['Estimated', `${run.estimate.cpuSeconds} CPU-s, $${run.estimate.costUsd}`],
    ['Measured', `${run.measured.cpuSeconds} CPU-s, $${run.measured.costUsd}`],
  ];
  const actions = [];
  // Pause and Resume share a data-focus: the keyboard user who paused lands on Resume when
  // the panel is rebuilt (replaceIfChanged), instead of on the page's body.
  const act = (label, path, focus) =>
    el('button', { type: 'button', 'data-action': path, 'data-focus': focus }, label);
  if (run.status === 'running') actions.push(act('Pause', 'pause', 'regen-toggle'));
  if (run.status === 'paused') actions.push(act('Resume', 'resume', 'regen-toggle'));
  if (run.status === 'running' || run.status === 'paused')
    actions.push(act('Cancel', 'cancel', 'regen-cancel'));
  const bar = el('progress', { max: String(Math.max(1, run.total)), value: String(run.done) });
  bar.setAttribute('aria-label', 'Regeneration progress');
  return [
    bar,
    el(
      'dl',
      { class: 'status' },
      ...items.map(([k, v]) => el('div', {}, el('dt', {}, k), el('dd', {}, v))),
    ),
    el('div', { class: 'actions', 'data-run': String(run.id) }, ...actions),
  ];
}

const state = (action) =>
  ({ pause: 'paused', resume: 'resumed', cancel: 'cancelled' })[action] ?? action;

/** Refreshes the panel from `GET /api/admin/regenerate`. */
export async function refreshRegeneration() {
  const state = await api('/api/admin/regenerate');
  $('regen-preset').textContent = `${state.preset.name} (version ${state.preset.version})`;
  replaceIfChanged($('regen-progress'), JSON.stringify(state.run), () => progress(state.run));
}

/** Wires the dry-run and start buttons and the run's actions. */
export function initRegeneration() {
  $('regen-dry-run').addEventListener('click', async () => {
    try {
      const dry = await api('/api/admin/regenerate', { method: 'POST', json: { dryRun: true } });
      const { cpuSeconds: cpu, costUsd: usd } = dry.range;
      $('regen-estimate').textContent =
        `${dry.images} images (${dry.megapixels} MP): about ${dry.cpuSeconds} CPU-seconds (${cpu.low}–${cpu.high}), $${dry.costUsd} ($${usd.low}–$${usd.high}) at list prices (${dry.basis}: ${dry.model.note}).`;
      $('regen-start').hidden = dry.images === 0;
    } catch (error) {
      announce(failureText(error));
    }
  });
  $('regen-start').addEventListener('click', async () => {
    const ok = await confirmAction({
      title: 'Start regeneration?',
      message: 'Every image made with another preset version is made again, in the background.',
      confirmLabel: 'Start',
    });
    if (!ok) return;
    try {
      await api('/api/admin/regenerate', { method: 'POST', json: {} });
      $('regen-start').hidden = true;
      announce('Regeneration started.');
      await refreshRegeneration();
      // The confirmation gave the focus back to Start, now hidden: the run's Pause takes it.
      if (focusLost() || document.activeElement === $('regen-start')) {
        focusFirst(
          $('regen-progress').querySelector('[data-focus="regen-toggle"]'),
          $('regen-title'),
        );
      }
    } catch (error) {
      announce(failureText(error));
    }
  });
  $('regen-progress').addEventListener('click', async (e) => {
    const button = e.target.closest('button[data-action]');
    if (!button) return;
    const run = button.closest('[data-run]').dataset.run;
    try {
      await api(`/api/admin/regenerate/${run}/${button.dataset.action}`, { method: 'POST' });
      await refreshRegeneration();
      // A run that ended has no actions left to focus: the panel's first button takes focus.
      if (!button.isConnected && !$('regen-progress').contains(document.activeElement)) {
        $('regen-dry-run').focus();
      }
      announce(`Regeneration ${state(button.dataset.action)}.`);
    } catch (error) {
      announce(failureText(error));
    }
  });
}
