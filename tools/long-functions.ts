/**
 * Lists the functions longer than a limit (100 lines by default), longest
 * first: every function, method, arrow function and accessor with a body,
 * measured from its first to its last line (comments and blank lines
 * included, as a reader scrolls them), nested ones counted on their own. Test
 * files (`*.test.ts`, `*.shared-test.ts`) are left out unless `--tests` is
 * given. Parsed with the TypeScript compiler, so strings and template
 * literals never confuse the count.
 *
 * Usage: `node tools/long-functions.ts [--tests] [--limit=N] [dir…]`
 * (default dirs: apps packages tools scripts e2e bench). It reports; it never
 * fails — a long factory of short named methods can be the clearer shape.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { repoRoot } from './shared-dir.ts';

/** One function over the limit. */
export interface LongFunction {
  /** The function's name, or how it is used (`callback of describe`) when it has none. */
  name: string;
  /** 1-based line of its first line. */
  line: number;
  /** Lines from its first to its last, both included. */
  lines: number;
}

const SKIP_DIRS = new Set(['node_modules', 'dist', 'coverage', 'results', '.turbo']);
const TEST_FILE = /\.(?:shared-)?test\.ts$/;

/** What a reader would call a function without a name of its own. */
function nameOf(node: ts.FunctionLikeDeclaration, sf: ts.SourceFile): string {
  if (node.name) return node.name.getText(sf);
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) {
    return parent.name.getText(sf);
  }
  if (ts.isCallExpression(parent)) {
    return `callback of ${parent.expression.getText(sf).slice(0, 40)}`;
  }
  return '(anonymous)';
}

/** The functions of one TypeScript source longer than `limit` lines. */
export function longFunctions(source: string, fileName: string, limit = 100): LongFunction[] {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: LongFunction[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const first = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const last = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = last - first + 1;
      if (lines > limit) found.push({ name: nameOf(node, sf), line: first + 1, lines });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** The TypeScript files under `dir` (declarations and, unless `tests`, test files left out). */
export function sourceFiles(dir: string, tests = false, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP_DIRS.has(entry.name) || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) sourceFiles(path, tests, out);
    else if (
      entry.name.endsWith('.ts') &&
      !entry.name.endsWith('.d.ts') &&
      (tests || !TEST_FILE.test(entry.name))
    ) {
      out.push(path);
    }
  }
  return out;
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const limitArg = args.find((a) => a.startsWith('--limit='));
  const limit = limitArg ? Number(limitArg.slice('--limit='.length)) : 100;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new Error(`Expected a positive integer for --limit but received ${limitArg}`);
  }
  const dirs = args.filter((a) => !a.startsWith('--'));
  const roots = (dirs.length > 0 ? dirs : ['apps', 'packages', 'tools', 'scripts', 'e2e', 'bench'])
    .map((d) => join(process.cwd(), d))
    .filter((d) => existsSync(d));
  const rows: { file: string; fn: LongFunction }[] = [];
  for (const root of roots) {
    for (const file of sourceFiles(root, args.includes('--tests'))) {
      for (const fn of longFunctions(readFileSync(file, 'utf8'), file, limit)) {
        rows.push({ file: relative(repoRoot, file), fn });
      }
    }
  }
  rows.sort((a, b) => b.fn.lines - a.fn.lines);
  for (const { file, fn } of rows) console.log(`${fn.lines}\t${file}:${fn.line}\t${fn.name}`);
  console.log(`${rows.length} function(s) over ${limit} lines`);
}
