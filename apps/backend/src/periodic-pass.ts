/**
 * A pass that runs on a timer and on demand, never two at once: the shape the
 * reaper and the orphan sweeper share. A call while a pass is under way gets
 * that pass; a tick while a pass is under way does nothing; the timer is
 * unref'd (it never keeps the process alive); a failed timed pass is logged
 * once and the next tick tries again. `stop` aborts the signal a pass is
 * given, so a pass that checks it between its look-ups ends early rather than
 * holding a shutdown for all of them.
 */
import { coerceError, type Logger } from '@slideshow/runtime';

/** A pass with its timer. */
export interface PeriodicPass<T> {
  /** One pass now, or the one already under way. */
  runOnce(): Promise<T>;
  /** Runs a pass every `intervalMs` (no-op when started already). */
  start(): void;
  /** Stops the timer, aborts the signal of a pass in progress and waits for it. */
  stop(): Promise<void>;
}

/** Options for {@link createPeriodicPass}. */
export interface PeriodicPassOptions {
  /** Time between the starts of timed passes. */
  intervalMs: number;
  /** Where a failed timed pass is logged. */
  logger: Logger;
  /** The error line of a failed timed pass, e.g. `reaper pass failed`. */
  failure: string;
}

/** Wraps `pass` in a timer and a single-flight guard; `pass` gets a signal that `stop` aborts. */
export function createPeriodicPass<T>(
  pass: (signal: AbortSignal) => Promise<T>,
  options: PeriodicPassOptions,
): PeriodicPass<T> {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<T> | undefined;
  let controller: AbortController | undefined;
  const runOnce = () => {
    if (!running) {
      const own = new AbortController();
      controller = own;
      running = pass(own.signal).finally(() => {
        running = undefined;
        if (controller === own) controller = undefined;
      });
    }
    return running;
  };
  return {
    runOnce,
    start() {
      if (timer) return;
      timer = setInterval(() => {
        // A tick during a long pass skips: joining it would log its failure once per tick.
        if (running) return;
        runOnce().catch((error: unknown) => {
          options.logger.error(options.failure, { error: coerceError(error) });
        });
      }, options.intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      controller?.abort();
      await running?.catch(() => undefined);
    },
  };
}
