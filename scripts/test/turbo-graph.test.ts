/**
 * A build replayed from turbo's cache must never be older than the code it
 * bundles. Turbo hashes a task from its own package's files and the tasks it
 * depends on; most workspace packages have no `build` of their own (they ship
 * TypeScript sources), so `^build` alone leaves their sources out of the hash
 * of the processor's bundle — a change in @slideshow/imaging then replayed a
 * stale dist/processor.mjs from the local cache (found when the bundle refused
 * a job spec in the new preset format). The `transit` task (no script
 * anywhere, `dependsOn: ["^transit"]`) folds every workspace dependency's
 * files into `build` and `typecheck`. This test reads turbo's own task graph.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@slideshow/tools/shared-dir';
import { describe, expect, it } from 'vitest';

interface DryTask {
  taskId: string;
  dependencies: string[];
}

/** Workspace packages and their workspace dependencies (all kinds), from the manifests. */
function workspaceGraph(): Map<string, string[]> {
  const dirs = ['apps', 'packages']
    .flatMap((top) => readdirSync(join(repoRoot, top)).map((name) => `${top}/${name}`))
    .concat(['scripts', 'tools', 'e2e']);
  const graph = new Map<string, string[]>();
  for (const dir of dirs) {
    const manifest = JSON.parse(readFileSync(join(repoRoot, dir, 'package.json'), 'utf8')) as {
      name: string;
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    const all = { ...manifest.dependencies, ...manifest.devDependencies };
    graph.set(
      manifest.name,
      Object.keys(all).filter((name) => all[name]?.startsWith('workspace:')),
    );
  }
  return graph;
}

/** `turbo run build typecheck --dry=json`: the task graph, nothing run. */
function dryRun(): Map<string, string[]> {
  const out = execFileSync(
    join(repoRoot, 'node_modules', '.bin', 'turbo'),
    ['run', 'build', 'typecheck', '--dry=json'],
    {
      cwd: repoRoot,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
    },
  );
  const tasks = (JSON.parse(out) as { tasks: DryTask[] }).tasks;
  return new Map(tasks.map((t) => [t.taskId, t.dependencies]));
}

describe("turbo's task graph", () => {
  const graph = workspaceGraph();
  const tasks = dryRun();

  it('makes every build and typecheck depend on its package’s transit task', () => {
    const missing = [...tasks]
      .filter(([id]) => /#(?:build|typecheck)$/.test(id))
      .filter(([id, deps]) => !deps.includes(`${id.slice(0, id.lastIndexOf('#'))}#transit`))
      .map(([id]) => id);
    expect(missing).toEqual([]);
  });

  it('chains transit through every workspace dependency, so their files are in the hash', () => {
    const missing: string[] = [];
    for (const [name, deps] of graph) {
      const transit = tasks.get(`${name}#transit`);
      if (!transit) continue;
      for (const dep of deps) {
        if (!transit.includes(`${dep}#transit`)) missing.push(`${name} → ${dep}`);
      }
    }
    expect(missing).toEqual([]);
    // The case that bit: the processor's bundle reaches @slideshow/imaging's sources.
    expect(tasks.get('@slideshow/processor#transit')).toContain('@slideshow/imaging#transit');
  });
});
