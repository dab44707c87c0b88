/**
 * Reads a Dockerfile into stages and replays the final stage's effect on
 * directory ownership, for checks that need no Docker engine (none is
 * available where the tests run).
 *
 * The model, from the builders' documented behaviour:
 * - `WORKDIR p` creates a missing `p` owned by root. (BuildKit creates it as the
 *   current USER, the classic builder as root: root is what both guarantee
 *   before a USER line, and the safe assumption after one.)
 * - `COPY --chown=u … dst` gives `u` what it copies and the directories it
 *   creates, but leaves an existing `dst` as it was: BuildKit's copier
 *   (tonistiigi/fsutil copy/copy.go) applies the owner to the destination
 *   directory only when it created it, and the classic builder never chowns an
 *   existing destination either.
 * - In a `RUN`, `mkdir [-p] DIR…` creates directories owned by the current USER
 *   and `chown [-R] u[:g] PATH…` (as root) changes their owner; other commands
 *   are not modelled.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scriptsDir } from './gcloud-double.ts';

/** One instruction: its keyword in upper case and the rest of its line(s). */
export interface Instruction {
  keyword: string;
  args: string;
}

/** Reads `<repo>/<path>` into stages (each starts at its FROM), comments dropped, continuations joined. */
export async function readStages(path: string): Promise<Instruction[][]> {
  const text = await readFile(join(scriptsDir, '..', path), 'utf8');
  const lines = text.split('\n').filter((line) => !/^\s*#/.test(line));
  const joined = lines.join('\n').replace(/\\\n/g, ' ');
  const stages: Instruction[][] = [];
  for (const line of joined.split('\n')) {
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!match?.[1] || match[2] === undefined) continue;
    const instruction = { keyword: match[1].toUpperCase(), args: match[2].trim() };
    if (instruction.keyword === 'FROM') stages.push([]);
    stages.at(-1)?.push(instruction);
  }
  return stages;
}

/** Directories that exist in the official node:*-slim image, all owned by root. */
const BASE_DIRECTORIES = ['/', '/etc', '/usr', '/usr/local', '/usr/local/bin', '/var', '/var/lib'];

/** The final stage's directory owners after each instruction. */
export interface Layout {
  /** Directory → owner (a user name), for the base image's and the stage's directories. */
  owners: Map<string, string>;
  /** The USER in effect. */
  user: string;
  /** ENV values set in the stage. */
  env: Map<string, string>;
}

const parents = (path: string): string[] => {
  const parts = path.split('/').filter(Boolean);
  return parts.map((_, i) => `/${parts.slice(0, i + 1).join('/')}`);
};

function create(layout: Layout, path: string, owner: string): void {
  for (const dir of parents(path)) if (!layout.owners.has(dir)) layout.owners.set(dir, owner);
}

function run(layout: Layout, script: string): void {
  for (const command of script.split(/&&|;/)) {
    const words = command.trim().split(/\s+/);
    const operands = words.slice(1).filter((w) => !w.startsWith('-'));
    if (words[0] === 'mkdir') for (const dir of operands) create(layout, dir, layout.user);
    if (words[0] === 'chown' && layout.user === 'root') {
      const [owner, ...paths] = operands;
      for (const path of paths) layout.owners.set(path, owner?.split(':')[0] ?? 'root');
    }
  }
}

function env(layout: Layout, args: string): void {
  for (const match of args.matchAll(/([A-Z_]+)=(\S+)/g)) {
    if (match[1] && match[2]) layout.env.set(match[1], match[2]);
  }
}

/**
 * Replays `stage` and calls `visit` with the layout after each instruction
 * (the same object, updated in place).
 */
export function replay(
  stage: Instruction[],
  visit: (instruction: Instruction, layout: Layout) => void = () => {},
): Layout {
  const layout: Layout = {
    owners: new Map(BASE_DIRECTORIES.map((dir) => [dir, 'root'])),
    user: 'root',
    env: new Map(),
  };
  for (const instruction of stage) {
    const { keyword, args } = instruction;
    if (keyword === 'USER') layout.user = args.split(':')[0] ?? args;
    if (keyword === 'WORKDIR') create(layout, args, 'root');
    if (keyword === 'ENV') env(layout, args);
    if (keyword === 'RUN') run(layout, args);
    if (keyword === 'COPY') {
      const words = args.split(/\s+/);
      const chown = words.find((w) => w.startsWith('--chown='))?.slice('--chown='.length);
      const destination = words.at(-1) ?? '';
      if (!layout.owners.has(destination)) {
        create(layout, destination.replace(/\/[^/]*$/, '') || '/', 'root');
        layout.owners.set(destination, chown?.split(':')[0] ?? 'root');
      }
    }
    visit(instruction, layout);
  }
  return layout;
}
