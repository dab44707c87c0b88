/**
 * Benchmarks record their figures here: bench/results/latest.json holds a list
 * of {name, value, unit, baseline, target, met}, merged by name, so each
 * package's `bench` task adds its own figures to the one file. `npm run bench`
 * empties it first (`bench-reset.ts`), so the file holds one run's figures and
 * none of a renamed or retired figure from an earlier run.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { repoRoot } from './shared-dir.ts';

/** One measured figure. `baseline` is the same quantity for the reference measured in the same run. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  baseline: number | null;
  /** The target as text, e.g. ">= 3x" or "<= 600 MB". */
  target: string | null;
  met: boolean | null;
}

/** Path of the results file. */
export const resultsFile = resolve(repoRoot, 'bench/results/latest.json');

/** Reads the figures recorded so far (empty when none); a corrupt file is an error, not empty. */
export function readFigures(): Figure[] {
  let text: string;
  try {
    text = readFileSync(resultsFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return JSON.parse(text) as Figure[];
}

/** Removes the results file: the next figures recorded start a new one. */
export function resetFigures(): void {
  rmSync(resultsFile, { force: true });
}

/** Adds or replaces figures by name, writing the file atomically. */
export function recordFigures(figures: Figure[]): void {
  const byName = new Map(readFigures().map((f) => [f.name, f]));
  for (const f of figures) byName.set(f.name, f);
  mkdirSync(resolve(repoRoot, 'bench/results'), { recursive: true });
  const tmp = `${resultsFile}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify([...byName.values()], null, 2)}\n`);
  renameSync(tmp, resultsFile);
}

/** Prints figures as an aligned table. */
export function formatFigures(figures: Figure[]): string {
  const rows = figures.map((f) => [
    f.name,
    `${round(f.value)} ${f.unit}`,
    f.baseline === null ? '' : `${round(f.baseline)} ${f.unit}`,
    f.target ?? '',
    f.met === null ? '' : f.met ? 'met' : 'MISSED',
  ]);
  const head = ['figure', 'value', 'baseline', 'target', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [head, ...rows]
    .map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  '))
    .join('\n');
}

function round(n: number): string {
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toPrecision(3);
}
