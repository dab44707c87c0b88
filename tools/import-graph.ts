/**
 * The static import graph of our own TypeScript source, for guard tests that
 * prove an entry never reaches a module it must not load (the backend and
 * sharp). Starting from an entry file it follows every import that loads code
 * at run time — `import … from`, `export … from`, side-effect imports and
 * `import('literal')` — through relative paths and `@slideshow/*` workspace
 * packages (resolved as Node resolves them, through each package's
 * `exports`), and records every other package it reaches by name.
 *
 * `import type` and `export type` are skipped: Node's type stripping and
 * TypeScript (`verbatimModuleSyntax`) erase them. `import { type A } from 'x'`
 * counts, since it still loads 'x'. An `import()` whose argument is not a
 * string literal cannot be followed and is listed apart, so a test can say
 * which ones it accepts (the production-only Cloud Storage adapters).
 */
import { readFileSync, realpathSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import ts from 'typescript';
import { repoRoot } from './shared-dir.ts';

/** What {@link importGraph} found. */
export interface ImportGraph {
  /** Our source files reached, relative to the repository root, in visiting order. */
  files: string[];
  /** Packages outside the workspace reached (`sharp`, `@google-cloud/storage`), each with the first file importing it. */
  packages: Map<string, string>;
  /** `import()` calls with a computed argument, as `file:line`. */
  computed: string[];
}

/** Module specifiers one file loads at run time, and the lines of its computed `import()`s. */
export function runtimeImports(
  source: string,
  fileName: string,
): { specifiers: string[]; computedLines: number[] } {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const specifiers: string[] = [];
  const computedLines: number[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      if (!node.importClause?.isTypeOnly) specifiers.push(node.moduleSpecifier.text);
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      if (!node.isTypeOnly) specifiers.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [argument] = node.arguments;
      if (argument && ts.isStringLiteralLike(argument)) specifiers.push(argument.text);
      else computedLines.push(sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return { specifiers, computedLines };
}

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

/** Walks the graph from `entry` (an absolute path or one relative to the repository root). */
export function importGraph(entry: string): ImportGraph {
  const start = resolve(repoRoot, entry);
  const seen = new Set<string>();
  const files: string[] = [];
  const packages = new Map<string, string>();
  const computed: string[] = [];
  const queue = [start];
  // Bounded by the number of our source files: each is visited once.
  while (queue.length > 0) {
    const file = queue.shift() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const shown = relative(repoRoot, file);
    files.push(shown);
    const { specifiers, computedLines } = runtimeImports(readFileSync(file, 'utf8'), file);
    for (const line of computedLines) computed.push(`${shown}:${line}`);
    const require = createRequire(file);
    for (const specifier of specifiers) {
      if (isBuiltin(specifier)) continue;
      if (specifier.startsWith('.')) {
        queue.push(resolve(dirname(file), specifier));
      } else if (specifier.startsWith('@slideshow/')) {
        // Workspace packages are consumed as source: follow into them.
        queue.push(realpathSync(require.resolve(specifier)));
      } else {
        const name = packageName(specifier);
        if (!packages.has(name)) packages.set(name, shown);
      }
    }
  }
  return { files, packages, computed };
}
