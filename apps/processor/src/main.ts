/**
 * Composition root of the processor (a Cloud Run Job task): reads the
 * environment once, builds the adapters, runs one task and turns its outcome
 * into the exit status. SIGTERM (Cloud Run's timeout signal, SIGKILL follows
 * 10 s later) aborts the work and a hard timer guarantees exit within 8 s.
 */
import { AppError, coerceError, createLogger } from '@slideshow/runtime';
import { openCredentials, openStore } from './adapters.ts';
import { loadConfig, type ProcessorConfig } from './config.ts';
import { applyStartupFault } from './faults.ts';
import { EXIT_CODES, run } from './run.ts';

/** Time after SIGTERM at which the process exits whatever it is doing (< Cloud Run's 10 s). */
const HARD_EXIT_MS = 7_500;

async function main(): Promise<number> {
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
      imageId: config.imageId,
    },
  });
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    logger.warn('received signal; stopping', { signal });
    controller.abort(new AppError('TIMEOUT', `processor received ${signal}`, { retryable: true }));
    setTimeout(() => {
      logger.error('did not stop in time; exiting', { afterMs: HARD_EXIT_MS });
      process.exit(EXIT_CODES.terminated);
    }, HARD_EXIT_MS).unref();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);

  await applyStartupFault(config.fault);
  logger.info('processor starting', { storage: new URL(config.storageUrl).protocol });
  try {
    const [opened, credentials] = await Promise.all([openStore(config), openCredentials(config)]);
    // Test-only (e2e/faults): seeded storage faults, drawn afresh on every attempt.
    const faults = process.env.STORAGE_FAULTS;
    const store = faults
      ? await import('@slideshow/storage/faulty').then((m) =>
          m.createFaultyObjectStore(
            opened,
            m.parseStorageFaults(faults, `attempt-${config.attempt}`),
          ),
        )
      : opened;
    const result = await run(config, { store, credentials, logger, signal: controller.signal });
    logger.info('processor finished', {
      outcome: result.outcome,
      exitCode: result.exitCode,
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
    return error.retryable ? EXIT_CODES.retry : EXIT_CODES.config;
  }
}

// Exit explicitly: keep-alive sockets and the GCS client's timers must not hold the task open.
process.exit(await main());
