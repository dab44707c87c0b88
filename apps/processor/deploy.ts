/**
 * Builds the processor's deploy folder — what the Docker image ships as /app —
 * from what `pnpm install` already put on disk, without the network:
 *
 *   node apps/processor/deploy.ts <out-dir>      (after `pnpm --filter @slideshow/processor build`)
 *
 * The Dockerfile's build stage and test/deploy.test.ts run this same command.
 *
 * 1. `pnpm deploy --prod --offline` with `inject-workspace-packages=true` for
 *    this one command: pnpm 10's deploy then installs from the workspace
 *    lockfile and the local store (no registry metadata needed, so it works
 *    on a machine whose pnpm never cached any). The workspace itself keeps
 *    linked (not injected) packages: Node runs the internal packages as .ts
 *    source, which it refuses to do under node_modules. `--legacy` deploy is
 *    no option: it re-resolves every dependency and needs that metadata.
 * 2. The manifest is reduced to what runs (name, type, dependencies): pnpm
 *    writes the dev dependencies as `file:` paths of the build machine.
 * 3. bundle-imports.ts checks that every module the bundle loads — including
 *    ones loaded through `createRequire`, which esbuild cannot see — resolves
 *    inside the folder, and that no load has a computed name it could not
 *    check. A failure stops the deploy (and so the image build).
 *
 * Output: <out-dir>/{dist/, node_modules/ (the `dependencies` of package.json
 * and theirs, nothing else), package.json, README.md}. <out-dir> must not exist
 * or be empty.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkBundleImports } from './bundle-imports.ts';

const here = dirname(fileURLToPath(import.meta.url));

/** The manifest fields the deploy folder keeps. */
interface Manifest {
  name: string;
  private?: boolean;
  type: string;
  description?: string;
  dependencies: Record<string, string>;
}

function fail(message: string): never {
  process.stderr.write(`deploy: ${message}\n`);
  process.exit(1);
}

const target = process.argv[2];
if (!target || process.argv.length > 3) fail('usage: node apps/processor/deploy.ts <out-dir>');
const out = resolve(target);
if (!existsSync(resolve(here, 'dist/processor.mjs'))) {
  fail('dist/processor.mjs is missing: run `pnpm --filter @slideshow/processor build` first');
}

const source = JSON.parse(readFileSync(resolve(here, 'package.json'), 'utf8')) as Manifest;
const pnpm = spawnSync(
  'pnpm',
  [
    '--filter',
    source.name,
    'deploy',
    '--prod',
    '--offline',
    '--config.inject-workspace-packages=true',
    out,
  ],
  { cwd: here, stdio: ['ignore', 'inherit', 'inherit'] },
);
if (pnpm.error) fail(`could not run pnpm: ${pnpm.error.message}`);
if (pnpm.status !== 0) fail(`pnpm deploy exited with ${pnpm.status ?? pnpm.signal}`);

const manifest: Manifest = {
  name: source.name,
  private: true,
  type: source.type,
  ...(source.description ? { description: source.description } : {}),
  dependencies: source.dependencies,
};
writeFileSync(resolve(out, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
// The copy of the workspace lockfile lists every workspace project by its build-machine
// path; what was installed is recorded in node_modules/.pnpm/lock.yaml.
rmSync(resolve(out, 'pnpm-lock.yaml'), { force: true });

const report = checkBundleImports(out);
const problems = [
  ...report.missing.map((m) => `  ${m.file}:${m.line} ${m.kind} '${m.specifier}': ${m.reason}`),
  ...report.computed.map(
    (c) =>
      `  ${c.file}:${c.line} ${c.kind} with a computed name: cannot be checked; make it a literal`,
  ),
];
if (problems.length > 0) {
  fail(
    `the bundle loads modules that are not proven to resolve in ${out}:\n${problems.join('\n')}\n` +
      "A package loaded at run time belongs in apps/processor/package.json's dependencies and build.ts' externals.",
  );
}
const packages = [
  ...new Set(report.resolved.filter((r) => !r.specifier.startsWith('.')).map((r) => r.specifier)),
].sort();
process.stderr.write(
  `deploy: ${out} is ready; every module the bundle loads resolves inside it (packages: ${packages.join(', ')})\n`,
);
