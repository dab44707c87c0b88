/**
 * The static import graph of our own TypeScript source, for guard tests that
 * prove an entry never reaches a module it must not load (the backend and
 * sharp). Starting from an entry file it follows every import that loads code
 * at run time — `import … from`, `export … from`, side-effect imports and
 * `import('literal')` — through relative paths and `@slideshow/*` workspace
 * packages (resolved as Node resolves them, through each package's
 * `exports`), and records every other package it reaches by name; a literal
 * `require('x')` or `createRequire(…)('x')` counts as a load too.
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

/** What one file loads at run time. */
export interface RuntimeImports {
  /** Modules loaded: imports, re-exports, literal `import()`, `require()` and `createRequire(…)()`. */
  specifiers: string[];
  /** Modules only located (`import.meta.resolve`, `require.resolve`), e.g. a file served as is. */
  resolved: string[];
  /** Lines of `import()` calls whose argument is not a string literal. */
  computedLines: number[];
}

/** The modules one file loads or locates at run time (type-only imports excluded). */
export function runtimeImports(source: string, fileName: string): RuntimeImports {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: RuntimeImports = { specifiers: [], resolved: [], computedLines: [] };
  const literal = (node: ts.CallExpression): string | undefined => {
    const [argument] = node.arguments;
    return argument && ts.isStringLiteralLike(argument) ? argument.text : undefined;
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      if (!node.importClause?.isTypeOnly) found.specifiers.push(node.moduleSpecifier.text);
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      if (!node.isTypeOnly) found.specifiers.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const text = literal(node);
      if (callee.kind === ts.SyntaxKind.ImportKeyword) {
        if (text === undefined) {
          found.computedLines.push(sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1);
        } else {
          found.specifiers.push(text);
        }
      } else if (text !== undefined) {
        const isRequire = ts.isIdentifier(callee) && callee.text === 'require';
        const isCreatedRequire =
          ts.isCallExpression(callee) &&
          ts.isIdentifier(callee.expression) &&
          callee.expression.text === 'createRequire';
        const isResolve =
          ts.isPropertyAccessExpression(callee) &&
          callee.name.text === 'resolve' &&
          (callee.expression.getText(sf) === 'require' ||
            callee.expression.getText(sf) === 'import.meta');
        if (isRequire || isCreatedRequire) found.specifiers.push(text);
        else if (isResolve) found.resolved.push(text);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
export function packageName(specifier: string): string {
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
