/**
 * Builds dist/processor.mjs once before the suite, so the spawned-binary tests
 * always exercise the bundle of the current source (turbo also runs `build`
 * before `test`; this covers a bare `vitest run`).
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { processorDir } from './helpers.ts';

/** vitest global setup: bundle the processor. */
export default function setup(): void {
  const result = spawnSync(process.execPath, [resolve(processorDir, 'build.ts')], {
    cwd: processorDir,
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    throw new Error(`building the processor bundle failed:\n${result.stdout}\n${result.stderr}`);
  }
}
