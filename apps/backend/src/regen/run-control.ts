/**
 * What an admin does with runs (routes/regenerate.ts): a dry run, starting a
 * run (its items written in the same transaction as the run, by one
 * `INSERT … SELECT` over the selection the dry run reads: selection.ts),
 * pausing, resuming and cancelling. Pausing,
 * cancelling and the failure cap take back the dispatches the outbox relay
 * has not put in a batch yet (and their executions), so nothing more reaches
 * the queue once an admin said stop.
 */

import type { RegenFilter } from '@slideshow/contracts';
import { AppError } from '@slideshow/runtime';
import type { RegenRunRow } from '../db/regen-repository.ts';
import { estimateRegeneration } from './estimate.ts';
import type { RegenContext } from './regen-context.ts';
import { type RunView, viewRun } from './run-view.ts';
import { insertCandidates } from './selection.ts';

/** Caps a run asks for: lower than the configured ones, never higher. */
export interface RunCaps {
  maxExecutions?: number | undefined;
  maxFailures?: number | undefined;
}

/** The dry run's figures for `filter`. */
function figuresFor(ctx: RegenContext, filter: RegenFilter) {
  return estimateRegeneration(ctx.db, ctx.regen, filter, ctx.version);
}

/** The run `id`, or NOT_FOUND. */
export function loadRun(ctx: RegenContext, id: number): RegenRunRow {
  const run = ctx.regen.run(id);
  if (!run) throw new AppError('NOT_FOUND', `no regeneration run ${id}`);
  return run;
}

/**
 * Takes back the run's dispatches the relay has not batched yet: they go back
 * to pending, and are no longer counted as executions (the dispatch worker
 * counted each when it wrote its outbox row; a withdrawn row never reached
 * the queue, and a resumed run sends and counts it again).
 */
function withdrawUnsent(ctx: RegenContext, runId: number): number {
  let withdrawn = 0;
  for (const item of ctx.regen.ofRunInState(runId, 'dispatched')) {
    if (item.generation !== null && ctx.regen.withdrawOutbox(item.image_id, item.generation)) {
      ctx.regen.backToPending(item.id);
      withdrawn++;
    }
  }
  if (withdrawn > 0) ctx.regen.uncountExecutions(runId, withdrawn, ctx.iso());
  return withdrawn;
}

/**
 * Ends a run (call inside a transaction): unsent dispatches withdrawn when
 * `withdraw` says so, pending items cancelled (a later run may take them).
 * False when the run had moved on.
 */
export function endRun(
  ctx: RegenContext,
  run: RegenRunRow,
  status: 'cancelled' | 'capped',
  reason: string,
  withdraw: boolean,
): boolean {
  if (!ctx.regen.setStatus(run.id, run.status, status, reason, ctx.iso(), true)) return false;
  if (withdraw) withdrawUnsent(ctx, run.id);
  ctx.regen.cancelPending(run.id, ctx.now());
  return true;
}

/** Writes a run over `filter` and its items; refuses while another is running or paused. */
function insertRun(ctx: RegenContext, filter: RegenFilter, caps: RunCaps): RunView {
  const { regen, settings } = ctx;
  if (regen.active()) {
    throw new AppError(
      'CONFLICT',
      'a regeneration is already running or paused; finish or cancel it first',
    );
  }
  const figures = figuresFor(ctx, filter);
  const runId = regen.insertRun({
    preset: ctx.current,
    presetVersion: ctx.version,
    filter: JSON.stringify(filter),
    total: figures.images,
    // A run may lower the configured caps, never raise them.
    maxExecutions: Math.min(
      settings.maxExecutionsPerRun,
      caps.maxExecutions ?? Number.POSITIVE_INFINITY,
    ),
    maxFailures: Math.min(settings.maxFailures, caps.maxFailures ?? Number.POSITIVE_INFINITY),
    cpuSeconds: figures.cpuSeconds,
    costUsd: figures.costUsd,
    now: ctx.iso(),
  });
  // The same selection as the figures, in the same transaction: as many items as `total`.
  const added = insertCandidates(ctx.db, filter, {
    runId,
    preset: ctx.current,
    presetVersion: ctx.version,
  });
  if (added === 0)
    regen.setStatus(runId, 'running', 'done', 'nothing to regenerate', ctx.iso(), true);
  return viewRun(ctx, loadRun(ctx, runId));
}

/** Creates the admin's operations on runs over `ctx`. */
export function createRunControl(ctx: RegenContext) {
  const { db, regen } = ctx;
  const view = (id: number) => viewRun(ctx, loadRun(ctx, id));

  const pause = db.transaction((id: number): RunView => {
    const run = loadRun(ctx, id);
    if (!regen.setStatus(id, 'running', 'paused', 'paused by an admin', ctx.iso(), false)) {
      throw new AppError(
        'CONFLICT',
        `run ${id} is ${run.status}; only a running run can be paused`,
      );
    }
    regen.recordPause(id, ctx.now());
    withdrawUnsent(ctx, id);
    return view(id);
  });

  const resume = db.transaction((id: number): RunView => {
    const run = loadRun(ctx, id);
    if (!regen.setStatus(id, 'paused', 'running', null, ctx.iso(), false)) {
      throw new AppError(
        'CONFLICT',
        `run ${id} is ${run.status}; only a paused run can be resumed`,
      );
    }
    regen.recordResume(id, ctx.now(), regen.firstDispatchAt(id));
    return view(id);
  });

  const cancel = db.transaction((id: number): RunView => {
    const run = loadRun(ctx, id);
    if (run.status !== 'running' && run.status !== 'paused') {
      throw new AppError('CONFLICT', `run ${id} is already ${run.status}`);
    }
    endRun(ctx, run, 'cancelled', 'cancelled by an admin', true);
    return view(id);
  });

  const start = db.transaction(insertRun);

  return {
    /** The count and estimates of a run over `filter`, nothing written. */
    dryRun(filter: RegenFilter) {
      const figures = figuresFor(ctx, filter);
      return { preset: ctx.current, presetVersion: ctx.version, filter, ...figures };
    },
    /** Starts a run over `filter` (CONFLICT while another is active). */
    start(filter: RegenFilter, caps: RunCaps = {}): RunView {
      const run = start(ctx, filter, caps);
      ctx.logger.info('regeneration started', {
        runId: run.id,
        total: run.total,
        preset: ctx.current,
        presetVersion: ctx.version,
      });
      return run;
    },
    pause,
    resume,
    cancel,
    view,
  };
}
