/**
 * What a regeneration will cost, from what processing has cost so far: each
 * image's CPU as a fixed part plus a part per source megapixel, from the
 * measurements cost-model.ts chooses, with a range (cpu-fit.ts); and Cloud
 * Run Jobs list prices (packages/contracts/src/cloud-run-pricing.ts, the
 * arithmetic of docs/performance.md, "Cost per 1,000 photos": a task is billed
 * for its allocation — 2 vCPU, 2 GiB — for its whole run, which on a dedicated
 * task is about its CPU time / 2 plus ~0.2 s of start-up, rounded up to
 * 100 ms). The selection is read by one aggregate query, whatever its size.
 */
import type { RegenFilter } from '@slideshow/contracts';
import {
  BILLED_INCREMENTS_PER_SECOND,
  PROCESSOR_JOB,
  taskCostUsd,
  usdPerTaskSecond,
} from '@slideshow/contracts/cloud-run-pricing';
import type { Db } from '../db/open-database.ts';
import type { RegenRepository } from '../db/regen-repository.ts';
import { type CostBasis, type CostModel, costModel } from './cost-model.ts';
import { cpuInterval, meansOf, type SelectionSizes } from './cpu-fit.ts';
import { MEGAPIXELS, selectionOf } from './selection.ts';

/** A task's start-up before it processes (docs/performance.md). */
export const TASK_STARTUP_SECONDS = 0.2;

/** The selection's totals on a model's line. */
interface SelectionTotals extends SelectionSizes {
  /** Σ each task's billed seconds. */
  billedSeconds: number;
}

/** A dry run's (or a run's) figures. */
export interface Estimate {
  images: number;
  megapixels: number;
  /** cpuSeconds / megapixels: per megapixel of this selection, the per-image part included. */
  cpuSecondsPerMegapixel: number;
  basis: CostBasis;
  /** Measured images behind the figures (0 for the documented figure). */
  samples: number;
  cpuSeconds: number;
  /** USD at list prices for the processor job's allocation. */
  costUsd: number;
  /** The line behind cpuSeconds and how it was made. */
  model: { perImageCpuSeconds: number; perMegapixelCpuSeconds: number; note: string };
  /** Where the figures may fall (see {@link rangeOf}). */
  range: { cpuSeconds: { low: number; high: number }; costUsd: { low: number; high: number } };
}

/** The totals of the selection `filter` at `version` on `model`'s line: one aggregate query. */
function totalsOf(db: Db, filter: RegenFilter, version: string, model: CostModel) {
  const { from, params } = selectionOf(filter, version);
  return db
    .prepare<Record<string, string | number>, SelectionTotals>(
      `SELECT count(*) AS images, coalesce(sum(mp), 0) AS megapixels,
         coalesce(sum(ceil(((@fixed + @perMp * mp) / @vcpu + @startup) * @increments)
           / @increments), 0) AS billedSeconds,
         coalesce(sum(min(1.0, mp / @meanMp)), 0) AS smaller,
         coalesce(sum(max(1.0, mp / @meanMp)), 0) AS larger
       FROM (SELECT ${MEGAPIXELS} AS mp ${from})`,
    )
    .get({
      ...params,
      fixed: model.line.fixed,
      perMp: model.line.perMegapixel,
      vcpu: PROCESSOR_JOB.vcpu,
      startup: TASK_STARTUP_SECONDS,
      increments: BILLED_INCREMENTS_PER_SECOND,
      // Measured sizes all unknown (0 MP) would divide by zero: every image then counts as larger.
      meanMp: Math.max(meansOf(model.moments).megapixels, 1e-6),
    }) as SelectionTotals;
}

/** List price of one task that spends `cpuSeconds` of CPU. */
export function taskCost(cpuSeconds: number): number {
  return taskCostUsd(cpuSeconds / PROCESSOR_JOB.vcpu + TASK_STARTUP_SECONDS);
}

/**
 * The range of the figures: CPU from cpu-fit.ts `cpuInterval`, widened by the
 * model's version spread when borrowed, never excluding the estimate itself;
 * cost moved by the CPU's difference and by up to one 100 ms billing
 * increment per image, never below every task's start-up.
 */
function rangeOf(model: CostModel, t: SelectionTotals, cpuSeconds: number, costUsd: number) {
  const cpu = cpuInterval(model.moments, model, t);
  const low = Math.min(cpu.low / model.versionSpread, cpuSeconds);
  const high = Math.max(cpu.high * model.versionSpread, cpuSeconds);
  const usd = usdPerTaskSecond();
  const rounding = t.images / BILLED_INCREMENTS_PER_SECOND;
  const costLow = costUsd - usd * ((cpuSeconds - low) / PROCESSOR_JOB.vcpu + rounding);
  const costHigh = costUsd + usd * ((high - cpuSeconds) / PROCESSOR_JOB.vcpu + rounding);
  return {
    cpuSeconds: { low: round(low, 2), high: round(high, 2) },
    costUsd: {
      low: round(Math.max(t.images * taskCost(0), costLow), 6),
      high: round(costHigh, 6),
    },
  };
}

/** Estimates the CPU and cost of re-making the selection `filter` at `version`. */
export function estimateRegeneration(
  db: Db,
  regen: Pick<RegenRepository, 'costMoments'>,
  filter: RegenFilter,
  version: string,
): Estimate {
  const model = costModel(regen.costMoments(version));
  const t = totalsOf(db, filter, version, model);
  const cpuSeconds = t.images * model.line.fixed + t.megapixels * model.line.perMegapixel;
  const costUsd = t.billedSeconds * usdPerTaskSecond();
  return {
    images: t.images,
    megapixels: round(t.megapixels, 3),
    cpuSecondsPerMegapixel: round(
      t.megapixels > 0 ? cpuSeconds / t.megapixels : model.line.perMegapixel,
      4,
    ),
    basis: model.basis,
    samples: model.basis === 'documented figure' ? 0 : model.moments.n,
    cpuSeconds: round(cpuSeconds, 2),
    costUsd: round(costUsd, 6),
    model: {
      perImageCpuSeconds: round(model.line.fixed, 3),
      perMegapixelCpuSeconds: round(model.line.perMegapixel, 4),
      note: model.note,
    },
    range: rangeOf(model, t, cpuSeconds, costUsd),
  };
}

/** Rounds to `digits` decimals. */
export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
