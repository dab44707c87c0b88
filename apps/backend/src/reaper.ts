/**
 * The reaper (DESIGN §4): every `intervalMs`, images in `queued`/`processing`
 * untouched for `stuckAfterMs` (and with no dispatch still pending in the
 * outbox) are re-dispatched once — with a new generation, because Cloud Tasks
 * refuses a task name reused within about an hour, and so a late report from
 * the stuck attempt is stale — and failed with `source = 'reaper'`, code
 * STUCK, when they are stuck again.
 */
import { coerceError, type Logger } from '@slideshow/runtime';
import type { Lifecycle } from './lifecycle.ts';

/** Options for {@link createReaper}. */
export interface ReaperOptions {
  lifecycle: Lifecycle;
  logger: Logger;
  intervalMs: number;
  stuckAfterMs: number;
}

/** The running reaper. */
export interface Reaper {
  /** One pass now. */
  runOnce(): { redispatched: string[]; failed: string[] };
  start(): void;
  stop(): void;
}

/** Creates the reaper (not started). */
export function createReaper(options: ReaperOptions): Reaper {
  let timer: NodeJS.Timeout | undefined;
  const runOnce = () => {
    const result = options.lifecycle.reap(options.stuckAfterMs);
    if (result.redispatched.length > 0 || result.failed.length > 0) {
      options.logger.warn('reaper acted on stuck images', result);
    }
    return result;
  };
  return {
    runOnce,
    start() {
      if (timer) return;
      timer = setInterval(() => {
        try {
          runOnce();
        } catch (error) {
          options.logger.error('reaper pass failed', { error: coerceError(error) });
        }
      }, options.intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
