/**
 * Composition root of the processor (a Cloud Run Job task): reads the
 * environment once, builds the adapters, runs the task's images (one, or a
 * batch task's slice: run-task.ts) and turns their outcomes into the exit status. SIGTERM (Cloud Run's timeout signal, SIGKILL follows
 * 10 s later) aborts the work and a hard timer guarantees exit within 8 s.
 * entry.ts runs it with no hooks; only the fault suite's entry
 * (main-with-faults.ts) passes any.
 */
import { AppError, coerceError, createLogger } from '@slideshow/runtime';
import type { ObjectStore } from '@slideshow/storage';
import * as z from 'zod/mini';
import { openCredentials, openStore } from './adapters.ts';
import { loadConfig, type ProcessorConfig } from './config.ts';
import { EXIT_CODES, startFailureExitCode } from './exit-policy.ts';
import type { RunDeps } from './run.ts';
import { runTask } from './run-task.ts';

/** Test seams a wrapping entry may fill (main-with-faults.ts); production passes none. */
export interface ProcessorHooks {
  /** Runs once the configuration is valid, before any work. */
  beforeWork?: (config: ProcessorConfig) => Promise<void>;
  /** Wraps the opened object store. */
  wrapStore?: (store: ObjectStore, config: ProcessorConfig) => Promise<ObjectStore>;
  /** Handed to run() (see {@link RunDeps.afterStarted}). */
  afterStarted?: RunDeps['afterStarted'];
}

/** Time after SIGTERM at which the process exits whatever it is doing (< Cloud Run's 10 s). */
const HARD_EXIT_MS = 7_500;

/** Runs one task and resolves with the process's exit status. */
export async function main(hooks: ProcessorHooks = {}): Promise<number> {
  // zod compiles a fast parser for each object schema on its first parse (`new Function`),
  // which only pays back over many parses; a task parses each schema a few times, so that
  // compile was waste: 15–35 ms of CPU per small-image task (apps/processor/README.md).
  z.config({ jitless: true });
  let config: ProcessorConfig;
  try {
    config = loadConfig(process.env);
  } catch (thrown) {
    const error = coerceError(thrown);
    createLogger().error('invalid configuration', { error, code: error.code });
    return EXIT_CODES.config;
  }
  const logger = createLogger({
    level: config.logLevel,
    fields: {
      component: 'processor',
      job: config.job,
      execution: config.execution,
      attempt: config.attempt,
      taskIndex: config.taskIndex,
      // Every line names its image: the task's own lines name all of a batch task's images,
      // and each image's lines (run-task.ts, run.ts) name that image.
      ...(config.images.length === 1
        ? { imageId: config.imageId }
        : { imageIds: config.images.map((i) => i.imageId) }),
    },
  });
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals, why?: string) => {
    if (controller.signal.aborted) return;
    // SIGTERM is Cloud Run's timeout or cancel (WARN); SIGINT is a requested shutdown of the
    // local stack (Ctrl-C, or local-cloud stopping), which the next start resumes (INFO).
    const level = signal === 'SIGINT' ? 'info' : 'warn';
    logger[level]('received signal; stopping', { signal, ...(why ? { why } : {}) });
    controller.abort(
      new AppError('TIMEOUT', `processor received ${signal}`, {
        retryable: true,
        context: { signal },
      }),
    );
    setTimeout(() => {
      logger.error('did not stop in time; exiting', { afterMs: HARD_EXIT_MS });
      process.exit(EXIT_CODES.terminated);
    }, HARD_EXIT_MS).unref();
  };
  // `on`, not `once`: a second signal (a second Ctrl-C of a processor run by hand, or a
  // timeout's SIGTERM after a shutdown's SIGINT) must not fall back to Node's default, which
  // kills mid-report; the hard exit above bounds the stop either way.
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  if (config.stopWhenStdinCloses) {
    // local-cloud holds stdin's other end: once it is gone (killed hard), stop as on its SIGINT.
    process.stdin.on('end', () => onSignal('SIGINT', 'stdin closed: local-cloud is gone')).resume();
  }

  await hooks.beforeWork?.(config);
  logger.info('processor starting', { storage: new URL(config.storageUrl).protocol });
  try {
    const [opened, credentials] = await Promise.all([openStore(config), openCredentials(config)]);
    const store = hooks.wrapStore ? await hooks.wrapStore(opened, config) : opened;
    const result = await runTask(config, {
      store,
      credentials,
      logger,
      signal: controller.signal,
      ...(hooks.afterStarted ? { afterStarted: hooks.afterStarted } : {}),
    });
    logger.info('processor finished', {
      outcome: result.outcome,
      exitCode: result.exitCode,
      images: result.images.length,
      // How many images ended each way (a batch task's summary; one entry for one image).
      outcomes: countOutcomes(result.images),
      // Peak resident set size of the whole task (kernel's ru_maxrss), for the memory budget.
      maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      // CPU time of the whole task (user + system, all threads), for the orchestration bench.
      cpuMs: Math.round(
        (process.resourceUsage().userCPUTime + process.resourceUsage().systemCPUTime) / 1000,
      ),
    });
    return result.exitCode;
  } catch (thrown) {
    const error = coerceError(thrown);
    logger.error('processor could not start', { error, code: error.code });
    return startFailureExitCode(error);
  }
}

/** `{processed: 3, retryable: 1}` from the images' outcomes. */
function countOutcomes(images: readonly { outcome: string }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { outcome } of images) counts[outcome] = (counts[outcome] ?? 0) + 1;
  return counts;
}
