/**
 * Runs the second test suite (tests over ../shared) when that folder exists.
 * On a user's clone it is absent, and this says so instead of failing.
 */
import { spawnSync } from 'node:child_process';
import { findSharedDir, repoRoot } from './shared-dir.ts';

const shared = findSharedDir();
if (!shared) {
  console.log(
    'shared suite: ../shared not found (it exists on development machines and in CI), so the corpus, workflow-sample and schema tests did not run',
  );
  process.exit(0);
}
console.log(`shared suite: running over ${shared}`);
const result = spawnSync('pnpm', ['exec', 'vitest', 'run', '--config', 'vitest.shared.config.ts'], {
  cwd: repoRoot,
  stdio: 'inherit',
  env: { ...process.env, SHARED_DIR: shared },
});
process.exit(result.status ?? 1);
