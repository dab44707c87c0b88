import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from '@slideshow/tools/shared-dir';
import { describe, expect, it } from 'vitest';

/**
 * One dispatch path (the Google SDKs load in one package): only packages/dispatch may load the
 * Cloud Tasks
 * or Workflows client libraries; everything else goes through the
 * TaskDispatcher port.
 */
const FORBIDDEN =
  /(?:from\s*|import\s*\(\s*|require\s*\(\s*|import\s+)['"]@google-cloud\/(?:tasks|workflows)(?:\/[^'"]*)?['"]/;
const SOURCE = /\.(?:[cm]?[jt]sx?)$/;
const SKIP_DIRS = new Set(['node_modules', 'dist', 'build', 'coverage', '.data', '.turbo', '.git']);
const ALLOWED = join(repoRoot, 'packages', 'dispatch');

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name) && path !== ALLOWED) sourceFiles(path, out);
    } else if (entry.isFile() && SOURCE.test(entry.name)) {
      out.push(path);
    }
  }
  return out;
}

describe('the one-dispatch-path guard', () => {
  it('finds no import of @google-cloud/tasks or @google-cloud/workflows outside packages/dispatch', () => {
    const files = ['apps', 'packages'].flatMap((top) => sourceFiles(join(repoRoot, top)));
    expect(files.length).toBeGreaterThan(0);
    const offenders = files
      .filter((file) => FORBIDDEN.test(readFileSync(file, 'utf8')))
      .map((file) => relative(repoRoot, file));
    expect(offenders, 'use @slideshow/dispatch instead of the Google clients').toEqual([]);
  });

  it('keeps the ports and the dry-run adapters free of Google SDK imports', () => {
    // The backend imports these in every mode; loading them must not load a cloud SDK.
    const ports = ['./task-dispatcher.ts', './queue-admin.ts', './task-cancellation.ts'];
    for (const file of [
      'task-dispatcher.ts',
      'task-cancellation.ts',
      'dry-run.ts',
      'queue-admin.ts',
      'dry-run-queue-admin.ts',
    ]) {
      const text = readFileSync(join(ALLOWED, 'src', file), 'utf8');
      expect(text, file).not.toMatch(/['"](?:@google-cloud\/|google-auth-library|google-gax)/);
      const localImports = [...text.matchAll(/from '(\.\/[^']+)'/g)].map((m) => m[1]);
      expect(
        localImports.every((r) => r !== undefined && ports.includes(r)),
        file,
      ).toBe(true);
    }
  });

  it('recognises every import form it is meant to forbid', () => {
    for (const line of [
      "import { CloudTasksClient } from '@google-cloud/tasks';",
      'const { ExecutionsClient } = require("@google-cloud/workflows");',
      "const m = await import('@google-cloud/tasks/build/esm/src/index.js');",
      "import '@google-cloud/workflows';",
    ]) {
      expect(FORBIDDEN.test(line), line).toBe(true);
    }
    expect(FORBIDDEN.test("import { Storage } from '@google-cloud/storage';")).toBe(false);
  });
});
