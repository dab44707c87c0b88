/**
 * A run as the admin API, the admin page and `/status` show it: its counts by
 * item state, its caps, an ETA from the pace so far (the time it ran, pauses
 * left out), and the dry run's estimate beside what the processor measured.
 */
import type { RegenFilter } from '@slideshow/contracts';
import type { RegenRunRow } from '../db/regen-repository.ts';
import { round, taskCost } from './estimate.ts';
import type { RegenContext } from './regen-context.ts';

/** A run as the API, the admin page and `/status` show it. */
export interface RunView {
  id: number;
  status: RegenRunRow['status'];
  reason: string | null;
  preset: string;
  presetVersion: string;
  filter: RegenFilter;
  total: number;
  done: number;
  failed: number;
  cancelled: number;
  inFlight: number;
  remaining: number;
  executions: number;
  caps: { executionsPerRun: number; failures: number; executionsPerHour: number };
  /** Seconds until the rest is done at the pace so far; null before anything finished and while paused. */
  etaSeconds: number | null;
  estimate: { cpuSeconds: number; costUsd: number };
  measured: { images: number; cpuSeconds: number; costUsd: number };
  createdAt: string;
  finishedAt: string | null;
}

/** List-price cost of the run's finished images, from the CPU each reported. */
function measuredCostOf(ctx: RegenContext, runId: number): number {
  return ctx.regen
    .ofRunInState(runId, 'done')
    .reduce((sum, item) => sum + (item.cpu_ms === null ? 0 : taskCost(item.cpu_ms / 1000)), 0);
}

/**
 * Seconds until the rest is done at the pace since the first dispatch, paused time left out (a
 * paused run has no pace to go by: null); 0 when nothing remains.
 */
function etaOf(run: RegenRunRow, finished: number, remaining: number, ranS: number) {
  if (remaining === 0) return 0;
  return finished > 0 && run.status === 'running'
    ? Math.round((ranS / finished) * remaining)
    : null;
}

/** Seconds the run has been running since its first dispatch (its pauses left out). */
function ranSeconds(ctx: RegenContext, run: RegenRunRow): number {
  const first = ctx.regen.firstDispatchAt(run.id);
  if (first === null) return 0;
  return Math.max(0, ctx.now() - first - run.paused_ms) / 1000;
}

/** The view of `run` now. */
export function viewRun(ctx: RegenContext, run: RegenRunRow): RunView {
  const c = ctx.regen.counts(run.id);
  const remaining = c.pending + c.dispatched;
  return {
    id: run.id,
    status: run.status,
    reason: run.status_reason,
    preset: run.preset,
    presetVersion: run.preset_version,
    filter: JSON.parse(run.filter) as RegenFilter,
    total: run.total,
    done: c.done,
    failed: c.failed,
    cancelled: c.cancelled,
    inFlight: c.dispatched,
    remaining,
    executions: run.executions,
    caps: {
      executionsPerRun: run.max_executions,
      failures: run.max_failures,
      executionsPerHour: ctx.settings.maxExecutionsPerHour,
    },
    etaSeconds: etaOf(run, c.done + c.failed, remaining, ranSeconds(ctx, run)),
    estimate: { cpuSeconds: run.estimate_cpu_seconds, costUsd: run.estimate_cost_usd },
    measured: {
      images: c.done,
      cpuSeconds: round(c.cpuMs / 1000, 2),
      costUsd: round(measuredCostOf(ctx, run.id), 6),
    },
    createdAt: run.created_at,
    finishedAt: run.finished_at,
  };
}
