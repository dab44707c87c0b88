/**
 * Cloud Run Jobs list prices (Tier 1 regions, e.g. us-central1, beyond the
 * free tier) and the processor job's size, for the cost figures of the
 * benchmarks and docs/performance.md. Source:
 * https://cloud.google.com/run/pricing ("Pricing for regions in Tier 1",
 * row "Services with CPU always allocated / Jobs"). A job task is billed for
 * the vCPU and memory it is allocated, for its whole run, rounded up to the
 * next 100 ms — not for the CPU it actually uses. Shared by the benchmarks and
 * the backend's regeneration estimate (apps/backend/src/regen/estimate.ts).
 */

/** USD per vCPU-second, Cloud Run Jobs, Tier 1. */
export const USD_PER_VCPU_SECOND = 0.000018;
/** USD per GiB-second, Cloud Run Jobs, Tier 1. */
export const USD_PER_GIB_SECOND = 0.000002;

/** The processor job's allocation (scripts/setup and cloudbuild/processor.cloudbuild.yaml: --cpu=2 --memory=2Gi). */
export const PROCESSOR_JOB = { vcpu: 2, memoryGiB: 2 } as const;

/** A task's run is billed in tenths of a second, rounded up: the increments per second. */
export const BILLED_INCREMENTS_PER_SECOND = 10;

/** USD per second of one task's allocation (`job`), before rounding. */
export function usdPerTaskSecond(job: { vcpu: number; memoryGiB: number } = PROCESSOR_JOB): number {
  return job.vcpu * USD_PER_VCPU_SECOND + job.memoryGiB * USD_PER_GIB_SECOND;
}

/** List price in USD of one task that runs `seconds` with the processor job's allocation. */
export function taskCostUsd(
  seconds: number,
  job: { vcpu: number; memoryGiB: number } = PROCESSOR_JOB,
): number {
  const billed = Math.ceil(seconds * BILLED_INCREMENTS_PER_SECOND) / BILLED_INCREMENTS_PER_SECOND;
  return billed * usdPerTaskSecond(job);
}
