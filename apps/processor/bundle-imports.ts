/**
 * Finds every module the processor bundle loads at run time and checks that it
 * resolves inside a deploy folder (what the Docker image ships as /app).
 *
 * esbuild records the imports it sees, but not a `createRequire(…)('x')` call:
 * that stays a plain function call in the output, and the module it names is
 * found (or not) only when the call runs. That is how `libheif-js/wasm-bundle`
 * went missing from the image: every HEIC then failed at run time. So the
 * bundle's own text is parsed (with the TypeScript parser, so comments and
 * strings never count) and these forms are collected when their argument is a
 * string literal: `import … from 'x'`, `export … from 'x'`, `import('x')`,
 * `require('x')`, `__require('x')` (esbuild's shim), `require.resolve('x')` and
 * `createRequire(…)('x')`. Each is resolved from the file that contains it with
 * Node's CommonJS resolution, and must land inside the folder. A load whose
 * argument is computed cannot be checked statically, so it is reported too:
 * the bundle has none today, and a new one must be made literal.
 */
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** One module reference found in the bundle. */
export interface BundleImport {
  /** File of the bundle, relative to the deploy folder. */
  file: string;
  line: number;
  specifier: string;
  /** How it is loaded. */
  kind: 'import' | 'dynamic-import' | 'require';
}

/** What {@link checkBundleImports} found. */
export interface BundleImportReport {
  /** Literal references to non-builtin modules, each resolved inside the folder. */
  resolved: (BundleImport & { path: string })[];
  /** Literal references that do not resolve, or resolve outside the folder. */
  missing: (BundleImport & { reason: string })[];
  /** Loads with a computed argument, which no static check can follow. */
  computed: Omit<BundleImport, 'specifier'>[];
}

function bundleFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => /\.(mjs|cjs|js)$/.test(name))
    .map((name) => join(dir, name))
    .sort();
}

const REQUIRE_NAMES = new Set(['require', '__require']);

/** The module references of one JavaScript file; `computed` counts the ones with no literal. */
export function findImports(
  source: string,
  fileName: string,
): { found: Omit<BundleImport, 'file'>[]; computed: Omit<BundleImport, 'file' | 'specifier'>[] } {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const found: Omit<BundleImport, 'file'>[] = [];
  const computed: Omit<BundleImport, 'file' | 'specifier'>[] = [];
  const lineOf = (node: ts.Node) => sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
  const add = (node: ts.Node, specifier: string, kind: BundleImport['kind']) => {
    found.push({ line: lineOf(node), specifier, kind });
  };
  const literal = (node: ts.Node | undefined): string | undefined =>
    node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node))
      ? node.text
      : undefined;
  const isLoader = (callee: ts.Expression): boolean => {
    if (ts.isIdentifier(callee)) return REQUIRE_NAMES.has(callee.text);
    // require.resolve('x')
    if (ts.isPropertyAccessExpression(callee)) {
      return (
        ts.isIdentifier(callee.expression) &&
        REQUIRE_NAMES.has(callee.expression.text) &&
        callee.name.text === 'resolve'
      );
    }
    // createRequire(import.meta.url)('x'), under any local name ending in createRequire.
    return (
      ts.isCallExpression(callee) &&
      ts.isIdentifier(callee.expression) &&
      /createRequire$/.test(callee.expression.text)
    );
  };
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier !== undefined
    ) {
      const specifier = literal(node.moduleSpecifier);
      if (specifier !== undefined) add(node, specifier, 'import');
    } else if (ts.isCallExpression(node)) {
      const kind =
        node.expression.kind === ts.SyntaxKind.ImportKeyword
          ? 'dynamic-import'
          : isLoader(node.expression)
            ? 'require'
            : undefined;
      if (kind !== undefined) {
        const specifier = literal(node.arguments[0]);
        if (specifier !== undefined) add(node, specifier, kind);
        else computed.push({ line: lineOf(node), kind });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return { found, computed };
}

function inside(path: string, root: string): boolean {
  return path === root || path.startsWith(root + sep);
}

/**
 * Checks every module reference of the bundle under `deployDir/dist` against
 * `deployDir`. Builtins (`node:fs`, `fs`) are skipped; a relative reference must
 * name a file of the bundle; a package must resolve to a file under `deployDir`
 * (not in a node_modules above it, which the image does not have).
 */
export function checkBundleImports(deployDir: string): BundleImportReport {
  const root = realpathSync(deployDir);
  const report: BundleImportReport = { resolved: [], missing: [], computed: [] };
  for (const file of bundleFiles(join(root, 'dist'))) {
    const { found, computed } = findImports(readFileSync(file, 'utf8'), file);
    for (const c of computed) report.computed.push({ ...c, file: relative(root, file) });
    const requireFrom = createRequire(file);
    for (const ref of found) {
      if (isBuiltin(ref.specifier)) continue;
      const entry = { ...ref, file: relative(root, file) };
      let path: string;
      try {
        path = realpathSync(
          ref.specifier.startsWith('.')
            ? resolve(dirname(file), ref.specifier)
            : requireFrom.resolve(ref.specifier),
        );
      } catch (error) {
        report.missing.push({ ...entry, reason: (error as Error).message.split('\n')[0] ?? '' });
        continue;
      }
      if (inside(path, root)) report.resolved.push({ ...entry, path: relative(root, path) });
      else report.missing.push({ ...entry, reason: `resolves outside the folder, to ${path}` });
    }
  }
  return report;
}
