import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Where ../shared lives (design, corpus, workflow samples, schemas), or
 * undefined on a user's clone. SHARED_DIR overrides the default.
 */
export function findSharedDir(): string | undefined {
  const dir = process.env.SHARED_DIR ?? resolve(repoRoot, '..', 'shared');
  return existsSync(dir) ? dir : undefined;
}
