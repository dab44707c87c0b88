/**
 * The fault suite's knobs, read once from the environment (the only file here
 * that reads it): `FAULT_SEED` reproduces a run (printed at the start of
 * every run), `FAULT_IMAGES` sets how many images are uploaded,
 * `FAULT_CHAOS_MS` / `FAULT_SETTLE_MS` bound the two phases and
 * `FAULT_KEEP_DATA=1` keeps the data folder for a post-mortem.
 */

/** Settings of one fault-suite run. */
export interface FaultSuiteConfig {
  /** Seed of the chaos schedule, the storage faults and the corpus. */
  seed: number;
  /** Distinct valid images uploaded (corrupt and refused files come on top). */
  images: number;
  /** How long the chaos phase lasts at most. */
  chaosMs: number;
  /** How long the suite waits for quiescence after the chaos. */
  settleMs: number;
  /** Keep the stack's data folder (logs, database, objects) for a post-mortem. */
  keepData: boolean;
}

function integer(raw: string | undefined, fallback: number, name: string): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(
      `Expected a non-negative integer for ${name} but received ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

/** Reads the suite's settings from `env` (process.env by default). */
export function loadFaultSuiteConfig(
  env: Record<string, string | undefined> = process.env,
): FaultSuiteConfig {
  return {
    seed: integer(env.FAULT_SEED, Math.floor(Math.random() * 1_000_000), 'FAULT_SEED'),
    images: integer(env.FAULT_IMAGES, 120, 'FAULT_IMAGES'),
    chaosMs: integer(env.FAULT_CHAOS_MS, 60_000, 'FAULT_CHAOS_MS'),
    settleMs: integer(env.FAULT_SETTLE_MS, 240_000, 'FAULT_SETTLE_MS'),
    keepData: env.FAULT_KEEP_DATA === '1',
  };
}
