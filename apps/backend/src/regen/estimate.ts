/**
 * What a regeneration will cost, from what processing has cost so far: CPU
 * seconds per source megapixel measured by the processor for each preset
 * version (preset_costs, migration 009), and Cloud Run Jobs list prices
 * (packages/contracts/src/cloud-run-pricing.ts, the figures and arithmetic of
 * docs/performance.md, "Cost per 1,000 photos": a task is billed for its
 * allocation — 2 vCPU, 2 GiB — for its whole run, which on a dedicated task
 * is about its CPU time / 2 plus ~0.2 s of start-up).
 */
import { PROCESSOR_JOB, taskCostUsd } from '@slideshow/contracts/cloud-run-pricing';
import type { RegenRepository } from '../db/regen-repository.ts';

/**
 * CPU-s per megapixel when nothing was measured yet: web-v3, the default, over
 * the bench's seven-image corpus (docs/performance.md, "Cost per 1,000
 * photos"; web-v1 took 0.570 in the same run).
 */
export const FALLBACK_CPU_SECONDS_PER_MEGAPIXEL = 0.475;

/** A task's start-up before it processes (docs/performance.md). */
export const TASK_STARTUP_SECONDS = 0.2;

/** Where the per-megapixel figure came from. */
export type CostBasis = 'this preset version' | 'other preset versions' | 'documented figure';

/** A dry run's (or a finished run's) figures. */
export interface Estimate {
  images: number;
  megapixels: number;
  cpuSecondsPerMegapixel: number;
  basis: CostBasis;
  /** Measured images behind the figure. */
  samples: number;
  cpuSeconds: number;
  /** USD at list prices for the processor job's allocation. */
  costUsd: number;
}

/** The measured per-megapixel CPU of `version`, else of every version, else the documented figure. */
export function cpuPerMegapixel(
  regen: Pick<RegenRepository, 'cost' | 'costAll'>,
  version: string,
): { value: number; basis: CostBasis; samples: number } {
  const own = regen.cost(version);
  if (own && own.megapixels > 0) {
    return {
      value: own.cpu_ms / 1000 / own.megapixels,
      basis: 'this preset version',
      samples: own.images,
    };
  }
  const all = regen.costAll();
  if (all?.megapixels && all.cpu_ms !== null && all.images) {
    return {
      value: all.cpu_ms / 1000 / all.megapixels,
      basis: 'other preset versions',
      samples: all.images,
    };
  }
  return { value: FALLBACK_CPU_SECONDS_PER_MEGAPIXEL, basis: 'documented figure', samples: 0 };
}

/** List price of one task that spends `cpuSeconds` of CPU. */
export function taskCost(cpuSeconds: number): number {
  return taskCostUsd(cpuSeconds / PROCESSOR_JOB.vcpu + TASK_STARTUP_SECONDS);
}

/** Estimates the CPU and cost of re-making images of these sizes. */
export function estimate(
  megapixels: readonly number[],
  perMegapixel: { value: number; basis: CostBasis; samples: number },
): Estimate {
  let cpuSeconds = 0;
  let costUsd = 0;
  let total = 0;
  for (const mp of megapixels) {
    const cpu = mp * perMegapixel.value;
    total += mp;
    cpuSeconds += cpu;
    costUsd += taskCost(cpu);
  }
  return {
    images: megapixels.length,
    megapixels: round(total, 3),
    cpuSecondsPerMegapixel: round(perMegapixel.value, 4),
    basis: perMegapixel.basis,
    samples: perMegapixel.samples,
    cpuSeconds: round(cpuSeconds, 2),
    costUsd: round(costUsd, 6),
  };
}

/** Rounds to `digits` decimals. */
export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
