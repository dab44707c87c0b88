/**
 * What stops a run from running away (docs/operations.md, "Presets and
 * regeneration"): a rate of dispatches per minute (a token bucket that holds
 * at most a minute's worth), at most `maxInFlight` unreported, no more than
 * `maxExecutionsPerHour` in any hour over all runs, and a run ended as
 * `capped` at its execution cap or its failure cap. One owner for these
 * decisions; the dispatch worker acts on the verdict.
 */
import type { RegenRunRow } from '../db/regen-repository.ts';
import type { RegenContext, RegenSettings } from './regen-context.ts';

const HOUR_MS = 3_600_000;

/** Dispatches a minute's rate allows so far: earned with time, spent by sending, at most a minute's worth. */
export function createRateBucket(settings: Pick<RegenSettings, 'ratePerMinute'>, now: number) {
  let tokens = 0;
  let last = now;
  return {
    /** Earns what the time since the last call allows; returns the whole dispatches available. */
    refill(at: number): number {
      tokens = Math.min(
        settings.ratePerMinute,
        tokens + ((at - last) / 60_000) * settings.ratePerMinute,
      );
      last = at;
      return Math.floor(tokens);
    },
    spend(n: number): void {
      tokens -= n;
    },
    /** Starts earning from `at` (a worker started again earns nothing for the time it was stopped). */
    restart(at: number): void {
      last = at;
    },
  };
}

/** What the worker does with the active run on this pass. */
export type CapVerdict =
  | {
      kind: 'end';
      reason: string;
      log: string;
      fields: Record<string, number>;
      /**
       * Whether the dispatches not yet batched are taken back: yes at the failure
       * cap (stop spending on failing images), no at the execution cap (those
       * dispatches are within it; taking them back would end the run short of it).
       */
      withdraw: boolean;
    }
  | {
      kind: 'done';
      /** Null when every image was made; else how many failed (the run's status shows it). */
      reason: string | null;
    }
  | { kind: 'wait' }
  | { kind: 'send'; budget: number };

/** Why a finished run with failed images reads as it does; null when none failed. */
function failedReason(c: { done: number; failed: number }): string | null {
  if (c.failed === 0) return null;
  const which =
    c.done === 0
      ? `every image failed (${c.failed})`
      : `${c.failed} of ${c.done + c.failed} images failed`;
  return `${which}; their old variants keep serving: see failed_tasks (source regenerate)`;
}

/** The verdict for a running run: ended by a cap, done, or how many to send now. */
export function capVerdict(ctx: RegenContext, run: RegenRunRow, available: number): CapVerdict {
  const { regen, settings } = ctx;
  const c = regen.counts(run.id);
  if (c.failed >= run.max_failures) {
    return {
      kind: 'end',
      reason: `stopped after ${c.failed} failed images (cap ${run.max_failures}); their old variants keep serving`,
      log: 'regeneration capped: too many failures',
      fields: { runId: run.id, failed: c.failed },
      withdraw: true,
    };
  }
  if (c.pending === 0) {
    return c.dispatched === 0 ? { kind: 'done', reason: failedReason(c) } : { kind: 'wait' };
  }
  const leftInRun = run.max_executions - run.executions;
  if (leftInRun <= 0) {
    return {
      kind: 'end',
      reason: `stopped at the cap of ${run.max_executions} executions per run with ${c.pending} images not dispatched`,
      log: 'regeneration capped: executions per run',
      fields: { runId: run.id, executions: run.executions },
      withdraw: false,
    };
  }
  const leftThisHour = settings.maxExecutionsPerHour - regen.dispatchedSince(ctx.now() - HOUR_MS);
  const budget = Math.min(
    available,
    settings.maxInFlight - regen.inFlight(),
    leftInRun,
    leftThisHour,
  );
  return budget > 0 ? { kind: 'send', budget } : { kind: 'wait' };
}
