/**
 * Builds dist/processor.mjs before the suite when it is missing or older than
 * its sources, so the spawned-binary tests always exercise the bundle of the
 * current source (turbo builds before `test`; this covers a bare `vitest run`
 * after an edit). A bundle that is already current is left alone: the e2e
 * suite may be running it at the same moment.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { bundlePath, processorDir } from './helpers.ts';

const SOURCES = [
  resolve(processorDir, 'src'),
  resolve(processorDir, 'build.ts'),
  resolve(processorDir, 'package.json'),
  resolve(processorDir, '../../packages'),
];

/** Newest modification time of the TypeScript/JSON files under `path` (node_modules excluded). */
function newest(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const full = join(path, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(full));
    else if (/\.(ts|json)$/.test(entry.name)) latest = Math.max(latest, statSync(full).mtimeMs);
  }
  return latest;
}

function bundleIsCurrent(): boolean {
  if (!existsSync(bundlePath)) return false;
  const built = statSync(bundlePath).mtimeMs;
  return SOURCES.every((source) => newest(source) <= built);
}

/** vitest global setup: bundle the processor unless the bundle is current. */
export default function setup(): void {
  if (bundleIsCurrent()) return;
  const result = spawnSync(process.execPath, [resolve(processorDir, 'build.ts')], {
    cwd: processorDir,
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    throw new Error(`building the processor bundle failed:\n${result.stdout}\n${result.stderr}`);
  }
}
