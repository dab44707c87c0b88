/**
 * The repository the docs tests read: its root, and its text files by their
 * path from the root (`docs/deploy.md`, `README.md`).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scriptsDir } from './gcloud-double.ts';

/** The repository root (the parent of scripts/). */
export const repoRoot = join(scriptsDir, '..');

/** One text file of the repository, by its path from the root. */
export function readRepoText(path: string): Promise<string> {
  return readFile(join(repoRoot, path), 'utf8');
}
