import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inheritedEnv } from './helpers/config.ts';
import { DOCS, docCommands, programOf } from './helpers/docs-commands.ts';
import { scriptsDir } from './helpers/gcloud-double.ts';

// The real Google Cloud CLI is not part of the project's toolchain: this runs
// where it is installed and is skipped, saying so, where it is not.
const hasGcloud = spawnSync('gcloud', ['--version'], { stdio: 'ignore' }).status === 0;

/** Runs one doc line in bash; resolves with its stderr. */
function runLine(
  line: string,
  cwd: string,
  env: Record<string, string>,
): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', line], {
      cwd,
      env: { ...inheritedEnv, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 90_000,
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

describe.skipIf(!hasGcloud)(
  'every gcloud command in the docs, through the real gcloud (skipped when gcloud is not installed)',
  () => {
    let dir: string;
    beforeAll(async () => {
      // A scratch git checkout with the Cloud Build configs, for `gcloud builds submit`.
      dir = await mkdtemp(join(tmpdir(), 'ops-docs-gcloud-'));
      await cp(join(scriptsDir, '../cloudbuild'), join(dir, 'cloudbuild'), { recursive: true });
      execFileSync('git', ['-C', dir, 'init', '-q']);
      execFileSync('git', [
        '-C',
        dir,
        '-c',
        'user.name=t',
        '-c',
        'user.email=t@example.com',
        'commit',
        '-q',
        '--allow-empty',
        '-m',
        'x',
      ]);
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('parses every gcloud line: each reaches the credentials check instead of an argument error', {
      timeout: 300_000,
    }, async () => {
      const lines = new Set<string>();
      for (const doc of DOCS)
        for (const line of await docCommands(doc))
          if (programOf(line) === 'gcloud') lines.add(line);
      expect(lines.size).toBeGreaterThan(15);
      // A fresh configuration has no account: gcloud parses the whole command
      // line (exit 2 and "unrecognized arguments"/"Invalid choice" when it is
      // wrong) and only then stops at "no active account", before any network.
      const env = {
        CLOUDSDK_CONFIG: join(dir, 'gcloud-config'),
        CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
        PROJECT: 'demo',
        REGION: 'europe-west1',
        BUCKET: 'demo-images',
        BACKEND_URL: 'https://backend.example',
        PROJECT_NUMBER: '123456',
      };
      const pending = [...lines];
      const failures: string[] = [];
      const worker = async () => {
        for (let line = pending.shift(); line !== undefined; line = pending.shift()) {
          const { stderr } = await runLine(line, dir, env);
          if (
            !/You do not currently have an active account selected/.test(stderr) ||
            /unrecognized arguments|Invalid choice|argument .*: /.test(stderr)
          ) {
            failures.push(`${line}\n${stderr}`);
          }
        }
      };
      await Promise.all([worker(), worker()]);
      expect(failures).toEqual([]);
    });
  },
);
