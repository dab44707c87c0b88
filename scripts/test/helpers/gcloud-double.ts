/**
 * Test helpers for the ops scripts: a recording `gcloud` first on PATH
 * (fixtures/gcloud) with per-test canned answers, and a runner that starts a
 * script asynchronously (so a loopback server in the same process keeps
 * serving while the script runs).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostPath, inheritedEnv } from './config.ts';

/** The scripts/ directory. */
export const scriptsDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** One canned answer: a bash glob over the space-joined arguments. */
export interface Rule {
  match: string;
  exit?: number;
  stdout?: string;
  stderr?: string;
}

/**
 * gcloud's answer when the thing does not exist: exit 1 and an `ERROR: (…)
 * NOT_FOUND: …` line, as the real CLI prints for most describe commands (the
 * scripts read only NOT_FOUND as "missing"; any other failure stops them).
 */
export function notFound(match: string): Rule {
  return {
    match,
    exit: 1,
    stderr: 'ERROR: (gcloud.describe) NOT_FOUND: Requested entity was not found.',
  };
}

/** One recorded call. */
export interface Recorded {
  argv: string[];
  stdin?: string;
  source?: string;
  /** The contents of an `--env-vars-file=`. */
  envVarsFile?: string;
}

/** A gcloud double installed in a temp directory. */
export interface GcloudDouble {
  dir: string;
  env: Record<string, string>;
  setRules(rules: Rule[]): Promise<void>;
  calls(): Promise<Recorded[]>;
  /** The recorded commands that change something, as `gcloud …` strings. */
  mutations(): Promise<string[]>;
  reset(): Promise<void>;
  cleanup(): Promise<void>;
}

const READ_ONLY = new Set(['describe', 'list', 'get-iam-policy']);

/** True when a gcloud argv changes something (not describe/list/get-iam-policy, `config get`, `auth print-access-token`). */
export function isMutating(argv: string[]): boolean {
  if (argv[0] === 'config' && argv[1] === 'get') return false;
  if (argv[0] === 'auth' && argv[1] === 'print-access-token') return false;
  const verbs = argv.filter((a) => !a.startsWith('-'));
  return !verbs.some((v) => READ_ONLY.has(v));
}

/** Installs the double; `rules` answer describe/list calls. */
export async function createGcloudDouble(rules: Rule[] = []): Promise<GcloudDouble> {
  const dir = await mkdtemp(join(tmpdir(), 'ops-gcloud-'));
  const bin = join(dir, 'bin');
  await import('node:fs/promises').then((fs) => fs.mkdir(bin));
  await symlink(join(scriptsDir, 'test/fixtures/gcloud'), join(bin, 'gcloud'));
  const log = join(dir, 'calls.jsonl');
  const rulesFile = join(dir, 'rules.txt');
  const double: GcloudDouble = {
    dir,
    env: {
      PATH: `${bin}:${dirname(process.execPath)}:${hostPath}`,
      GCLOUD_DOUBLE_LOG: log,
      GCLOUD_DOUBLE_RULES: rulesFile,
    },
    async setRules(next) {
      const escaped = (text = '') => text.replaceAll('\n', '\\n');
      const lines = next.map((r) =>
        [r.match, String(r.exit ?? 0), escaped(r.stdout), escaped(r.stderr)].join('\x1f'),
      );
      await writeFile(rulesFile, `${lines.join('\n')}\n`);
    },
    async calls() {
      const text = await readFile(log, 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return '';
        throw error;
      });
      const out: Recorded[] = [];
      for (const line of text.split('\n').filter(Boolean)) {
        const entry = JSON.parse(line) as Partial<Recorded>;
        if (entry.argv) out.push({ argv: entry.argv });
        else if (out.length > 0) Object.assign(out[out.length - 1] as Recorded, entry);
      }
      return out;
    },
    async mutations() {
      return (await double.calls())
        .filter((c) => isMutating(c.argv))
        .map((c) => `gcloud ${c.argv.join(' ')}`);
    },
    async reset() {
      await rm(log, { force: true });
    },
    async cleanup() {
      await rm(dir, { recursive: true, force: true });
    },
  };
  await double.setRules(rules);
  return double;
}

/** The outcome of a script run. */
export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs scripts/<name> with extra environment, bounded by a timeout. */
export function runScript(
  name: string,
  args: string[],
  env: Record<string, string>,
  input?: string,
  timeoutMs?: number,
): Promise<RunResult> {
  return runCommand(join(scriptsDir, name), args, env, input, timeoutMs);
}

/** Runs a program with extra environment (Google variables cleared), bounded by a timeout. */
export function runCommand(
  program: string,
  args: string[],
  env: Record<string, string>,
  input?: string,
  timeoutMs = 50_000,
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(program, args, {
      env: { ...inheritedEnv, GOOGLE_CLOUD_PROJECT: '', GOOGLE_CLOUD_LOCATION: '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: timeoutMs,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (status) => resolvePromise({ status, stdout, stderr }));
    // A script that refuses its arguments exits before it reads stdin: writing to
    // the closed pipe is then EPIPE, which is the script's answer, not a test error.
    child.stdin.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') reject(error);
    });
    child.stdin.end(input ?? '');
  });
}

/**
 * Removes the folder a rollback dry run kept for its printed workflow deploys (it says
 * "… are kept in DIR" on stderr); returns it, or undefined when the run kept none.
 */
export async function removeKeptFiles(stderr: string): Promise<string | undefined> {
  const kept = /are kept in (\S+)/.exec(stderr)?.[1];
  if (kept !== undefined) await rm(kept, { recursive: true, force: true });
  return kept;
}

/** The `+ …` command lines a script printed on stdout. */
export function printedCommands(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('+ '))
    .map((l) => l.slice(2));
}
