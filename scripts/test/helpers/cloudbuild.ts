/**
 * Runs a Cloud Build config's steps the way Cloud Build would, as far as the
 * commands go: substitutions applied with Cloud Build's rules (`$VAR` and
 * `${VAR}` for built-ins and `_USER` substitutions, `$$` for a literal `$`,
 * an unknown substitution is an error), docker steps recorded, bash steps run
 * in a temp workspace with the recording gcloud on PATH.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { inheritedEnv } from './config.ts';
import { scriptsDir } from './gcloud-double.ts';

/** The parts of a Cloud Build step this runner understands. */
export interface Step {
  id?: string;
  name: string;
  entrypoint?: string;
  args?: string[];
}

/** A parsed config. */
export interface BuildConfig {
  substitutions?: Record<string, string>;
  steps: Step[];
  images?: string[];
}

/** Reads cloudbuild/<file>. */
export async function readBuildConfig(file: string): Promise<BuildConfig> {
  return parse(await readFile(join(scriptsDir, '..', 'cloudbuild', file), 'utf8')) as BuildConfig;
}

/** Applies substitutions like Cloud Build; throws on an unknown one. */
export function substitute(text: string, values: Record<string, string>): string {
  return text.replace(
    /\$\$|\$\{([A-Z_][A-Z0-9_]*)\}|\$([A-Z_][A-Z0-9_]*)/g,
    (match, braced, bare) => {
      if (match === '$$') return '$';
      const name = (braced ?? bare) as string;
      const value = values[name];
      if (value === undefined) throw new Error(`unknown substitution ${match}`);
      return value;
    },
  );
}

/** What one run did. */
export interface BuildRun {
  /** docker steps as `docker …` lines, and each bash step's status. */
  log: string[];
  failedStep: string | undefined;
  stderr: string;
}

function run(script: string, cwd: string, env: Record<string, string>) {
  return new Promise<{ status: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn('bash', ['-c', script], {
      cwd,
      env: { ...inheritedEnv, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 30_000,
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

/** Runs every step in order, stopping at the first failure, like Cloud Build. */
export async function runBuild(
  config: BuildConfig,
  provided: Record<string, string>,
  workspace: string,
  env: Record<string, string>,
): Promise<BuildRun> {
  const values = { ...config.substitutions, ...provided };
  const out: BuildRun = { log: [], failedStep: undefined, stderr: '' };
  for (const step of config.steps) {
    const args = (step.args ?? []).map((a) => substitute(a, values));
    if (step.name.endsWith('/docker')) {
      out.log.push(`docker ${args.join(' ')}`);
      continue;
    }
    if (step.entrypoint !== 'bash' || args[0] !== '-c' || args[1] === undefined) {
      throw new Error(`step ${step.id ?? step.name} is not a bash -c step`);
    }
    const result = await run(args[1], workspace, env);
    out.stderr += result.stderr;
    if (result.status !== 0) {
      out.failedStep = step.id ?? step.name;
      return out;
    }
  }
  return out;
}
