/**
 * Test-only fault switches, read by the test-only entry main-with-faults.ts
 * and never by main.ts, so the production bundle (dist/processor.mjs) holds
 * none of this. End-to-end tests use them to prove the retry and backstop
 * paths (docs/architecture.md#who-retries-what):
 *
 * - `PROCESSOR_FAULT=crash|sigkill|oom` ends the process before any work;
 *   `hang` sleeps mid-work, after `started`, until SIGTERM;
 * - `PROCESSOR_FAULT_IMAGE=<id>` applies that fault only once `started` of
 *   that image is accepted (a poison image in a batch task's slice);
 * - `STORAGE_FAULTS=seed=S,fail=R,stall=R,stallMs=N` wraps the store in
 *   seeded injected failures and stalls (@slideshow/storage/faulty), drawn
 *   afresh on every attempt.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '@slideshow/runtime';
import { createFaultyObjectStore, parseStorageFaults } from '@slideshow/storage/faulty';
import type { ProcessorHooks } from './main.ts';

/** The values of `PROCESSOR_FAULT`. */
export const PROCESSOR_FAULTS = ['crash', 'hang', 'oom', 'sigkill'] as const;
/** One of {@link PROCESSOR_FAULTS}. */
export type ProcessorFault = (typeof PROCESSOR_FAULTS)[number];

/** Reads `PROCESSOR_FAULT` (blank is unset); an unknown value is a VALIDATION_FAILED naming it. */
export function parseProcessorFault(value: string | undefined): ProcessorFault | undefined {
  const trimmed = value?.trim();
  if (!trimmed) return undefined;
  const fault = PROCESSOR_FAULTS.find((known) => known === trimmed);
  if (!fault) {
    throw new AppError(
      'VALIDATION_FAILED',
      `Expected PROCESSOR_FAULT to be one of ${PROCESSOR_FAULTS.join(', ')} but received ${JSON.stringify(trimmed)}`,
    );
  }
  return fault;
}

/**
 * Applies a fault that ends the process before any work: `crash` exits 1,
 * `sigkill` kills the process the way Cloud Run does after a timeout or an OOM
 * (no chance to report), `oom` grows a heap until V8 gives up and then aborts.
 * Resolves (doing nothing) for `hang` and when no fault is set.
 */
export async function applyStartupFault(fault: ProcessorFault | undefined): Promise<void> {
  if (fault === 'crash') {
    process.exit(1);
  }
  if (fault === 'sigkill') {
    process.kill(process.pid, 'SIGKILL');
  }
  if (fault === 'oom') {
    // Growing the main heap would take ~4 GB and the whole machine's patience before
    // V8 aborts; a worker capped at 64 MB reaches the same "heap out of memory" in
    // well under a second, and the process then aborts (SIGABRT) like a real OOM.
    const { Worker } = process.getBuiltinModule('node:worker_threads');
    await new Promise<void>((resolve) => {
      const worker = new Worker('const keep = []; for (;;) keep.push(new Array(1e5).fill(1));', {
        eval: true,
        resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 },
      });
      worker.once('error', () => resolve());
      worker.once('exit', () => resolve());
    });
    process.abort();
  }
}

/** Sleeps mid-work until the task's signal aborts it (SIGTERM). */
export const hangUntilTerminated: NonNullable<ProcessorHooks['afterStarted']> = async ({
  log,
  signal,
}) => {
  log.warn('PROCESSOR_FAULT=hang: sleeping until terminated');
  await sleep(2 ** 31 - 1, undefined, { signal });
};

/** The hooks that inject what `env` asks for; throws VALIDATION_FAILED on a bad value. */
export function faultHooks(env: Record<string, string | undefined>): ProcessorHooks {
  const fault = parseProcessorFault(env.PROCESSOR_FAULT);
  const poison = env.PROCESSOR_FAULT_IMAGE?.trim();
  const storageFaults = env.STORAGE_FAULTS?.trim();
  // Parsed now, so a bad STORAGE_FAULTS fails before any work (the salt is the attempt's).
  if (storageFaults) parseStorageFaults(storageFaults, 'check');
  const faultAfterStarted: ProcessorHooks['afterStarted'] = poison
    ? async (context) => {
        if (context.imageId !== poison) return;
        context.log.warn(`PROCESSOR_FAULT=${fault} on this image`);
        if (fault === 'hang') await hangUntilTerminated(context);
        else await applyStartupFault(fault);
      }
    : fault === 'hang'
      ? hangUntilTerminated
      : undefined;
  return {
    beforeWork: () => applyStartupFault(poison ? undefined : fault),
    ...(faultAfterStarted ? { afterStarted: faultAfterStarted } : {}),
    ...(storageFaults
      ? {
          wrapStore: async (store, config) =>
            createFaultyObjectStore(
              store,
              parseStorageFaults(storageFaults, `attempt-${config.attempt}`),
            ),
        }
      : {}),
  };
}
