/**
 * `npm run screenshots`: refreshes docs/screenshots/ — the README's pictures of
 * the console (console-{uploads,library,detail,jobs,slideshow}.png) and the
 * pages' first views ({admin,slideshow}.png). They are taken by the browser
 * tests (e2e/test/browser.test.ts and e2e/test/console-*.test.ts, Debian's
 * Chromium at /usr/bin/chromium) against fresh local stacks; this runs those
 * tests with SCREENSHOTS_DIR pointing at docs/screenshots/. Without it the
 * tests write to the ignored e2e/screenshots/, so `npm test` never changes
 * tracked files. Builds first (the stack runs the processor bundle), and fails
 * unless every picture was written by this run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot } from './shared-dir.ts';

const target = resolve(repoRoot, 'docs/screenshots');
/** The browser tests that take the pictures (vitest filters, relative to e2e/). */
const tests = [
  'test/browser.test.ts',
  'test/console-uploads-batch.test.ts',
  'test/console-library-browse.test.ts',
  'test/console-library-a11y.test.ts',
  'test/console-slideshow.test.ts',
];
const pictures = [
  'admin.png',
  'slideshow.png',
  'console-uploads.png',
  'console-library.png',
  'console-detail.png',
  'console-jobs.png',
  'console-slideshow.png',
];
const say = (line: string) => process.stderr.write(`${line}\n`);

function run(command: string, args: string[], env: Record<string, string> = {}): void {
  const result = spawnSync(command, args, {
    cwd: repoRoot,
    stdio: 'inherit',
    env: { ...process.env, ...env },
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
  }
}

function main(): void {
  const started = Date.now();
  say('Building (the local stack runs the processor bundle) …');
  run('pnpm', ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only']);
  say(`Running the browser tests with SCREENSHOTS_DIR=${target} …`);
  run('pnpm', ['--filter', '@slideshow/e2e', 'exec', 'vitest', 'run', ...tests], {
    SCREENSHOTS_DIR: target,
  });
  const stale = pictures.filter((name) => {
    const file = join(target, name);
    return !existsSync(file) || statSync(file).mtimeMs < started;
  });
  if (stale.length > 0) throw new Error(`not written by this run: ${stale.join(', ')}`);
  say(`Refreshed ${pictures.map((name) => join('docs/screenshots', name)).join(', ')}.`);
}

try {
  main();
} catch (error) {
  say(`npm run screenshots failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
