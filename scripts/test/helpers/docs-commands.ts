/**
 * Extracts the shell commands of docs/*.md: every line of a ```bash fence,
 * with `\` continuations joined and comments dropped.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scriptsDir } from './gcloud-double.ts';

/** The runbooks whose commands the tests run. */
export const DOCS = ['deploy.md', 'operations.md'] as const;

/** Commands of one doc, in order. */
export async function docCommands(doc: string): Promise<string[]> {
  const text = await readFile(join(scriptsDir, '../docs', doc), 'utf8');
  const out: string[] = [];
  for (const block of text.matchAll(/^ *```bash\n([\s\S]*?)^ *```$/gm)) {
    const body = (block[1] ?? '').replace(/\\\n\s*/g, '');
    for (const line of body.split('\n')) {
      const trimmed = line.trim();
      if (trimmed !== '' && !trimmed.startsWith('#')) out.push(trimmed);
    }
  }
  return out;
}

/** The program a command line runs (`export X="$(gcloud …)"` counts as gcloud). */
export function programOf(line: string): string {
  if (line.startsWith('export ')) return line.includes('$(gcloud ') ? 'gcloud' : 'export';
  return line.split(/\s+/)[0] ?? '';
}
