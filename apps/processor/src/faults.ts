/**
 * Test-only fault switches (`PROCESSOR_FAULT`), used by end-to-end tests to
 * prove the retry and backstop paths (docs/architecture.md#who-retries-what). Ignored unless set;
 * `hang`
 * lives in run.ts because it must happen mid-work, after `started`.
 */
import type { ProcessorFault } from './config.ts';

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
