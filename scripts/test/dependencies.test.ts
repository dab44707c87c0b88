/**
 * Every workspace manifest declares what its code uses, and production
 * `dependencies` only what production code loads: the backend image installs
 * `dependencies` alone (deploy/backend-install.sh), so an unused or test-only
 * one there is weight and attack surface in production. The processor is
 * bundled: its `dependencies` are exactly the modules its bundle leaves
 * external (build.ts), which deploy.ts installs next to the bundle.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { packageName, runtimeImports } from '@slideshow/tools/import-graph';
import { repoRoot } from '@slideshow/tools/shared-dir';
import { describe, expect, it } from 'vitest';

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const PROJECTS = ['apps', 'packages']
  .flatMap((top) => readdirSync(join(repoRoot, top)).map((name) => `${top}/${name}`))
  .concat(['scripts', 'tools', 'e2e']);
/** Tests, benchmarks, contract suites and test helpers: code production never loads. */
const TEST_ONLY =
  /(?:\.test\.ts|\.shared-test\.ts|\.contract\.ts)$|(?:^|\/)(?:test|bench|testing|faults)\//;
const SKIP_DIRS = new Set(['node_modules', 'dist', 'coverage', 'results', 'screenshots']);
/** Used without an import, each for the reason given. */
const USED_OTHERWISE: Record<string, Record<string, string>> = {
  '@slideshow/e2e': {
    '@slideshow/processor': "turbo's ^build makes the processor bundle the e2e tests run",
  },
};

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP_DIRS.has(entry.name) || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) sourceFiles(path, out);
    else if (/\.(?:ts|mjs|js)$/.test(entry.name)) out.push(path);
  }
  return out;
}

/**
 * Package names a project's files use: `production` from its production files
 * (a type-only import counts: the package's types are part of its API),
 * `any` from all of them.
 */
function usage(project: string): { production: Set<string>; any: Set<string> } {
  const production = new Set<string>();
  const any = new Set<string>();
  const dir = join(repoRoot, project);
  for (const file of sourceFiles(dir)) {
    const text = readFileSync(file, 'utf8');
    const { specifiers, resolved } = runtimeImports(text, file);
    const all = [
      ...specifiers,
      ...resolved,
      ...[...text.matchAll(/\bfrom\s+['"]([^'"]+)['"]/g)].map((m) => m[1] as string),
    ].filter((specifier) => !specifier.startsWith('.') && !specifier.startsWith('node:'));
    const target = TEST_ONLY.test(relative(dir, file)) ? [any] : [any, production];
    for (const specifier of all) for (const set of target) set.add(packageName(specifier));
  }
  return { production, any };
}

const manifests = PROJECTS.map((project) => ({
  project,
  manifest: JSON.parse(readFileSync(join(repoRoot, project, 'package.json'), 'utf8')) as Manifest,
}));

describe('workspace dependencies', () => {
  it('finds every workspace project', () => {
    expect(manifests.map((m) => m.manifest.name)).toEqual(
      expect.arrayContaining(['@slideshow/backend', '@slideshow/processor', '@slideshow/imaging']),
    );
  });

  it.each(manifests.filter((m) => m.manifest.name !== '@slideshow/processor'))(
    '$project: every production dependency is loaded by its production code',
    ({ project, manifest }) => {
      const { production } = usage(project);
      const unused = Object.keys(manifest.dependencies ?? {}).filter(
        (name) => !production.has(name),
      );
      expect(unused, 'move test-only ones to devDependencies, drop unused ones').toEqual([]);
    },
  );

  it.each(manifests)('$project: every devDependency is used', ({ project, manifest }) => {
    const { any } = usage(project);
    const otherwise = USED_OTHERWISE[manifest.name] ?? {};
    const unused = Object.keys(manifest.devDependencies ?? {}).filter(
      (name) => !name.startsWith('@types/') && !any.has(name) && !(name in otherwise),
    );
    expect(unused).toEqual([]);
  });

  it('keeps the repository tooling (@slideshow/tools) out of every production dependency list', () => {
    const offenders = manifests
      .filter((m) => m.manifest.dependencies?.['@slideshow/tools'])
      .map((m) => m.project);
    expect(offenders).toEqual([]);
  });

  it("declares as the processor's dependencies exactly what its bundle leaves external", () => {
    const build = readFileSync(join(repoRoot, 'apps/processor/build.ts'), 'utf8');
    const external = /external:\s*\[([^\]]*)\]/.exec(build)?.[1];
    expect(external).toBeDefined();
    const names = [...(external ?? '').matchAll(/'([^']+)'/g)].map((m) => m[1]);
    const processor = manifests.find((m) => m.manifest.name === '@slideshow/processor');
    expect(Object.keys(processor?.manifest.dependencies ?? {}).sort()).toEqual(names.sort());
  });
});
