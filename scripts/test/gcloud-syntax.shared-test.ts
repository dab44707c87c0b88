/**
 * Every gcloud command the deploy path runs — scripts/setup (an empty and a
 * set-up project), scripts/rollback (all three parts) and the three Cloud
 * Build configs — as recorded by the gcloud double, replayed through the real
 * gcloud's argument parser. A flag gcloud 528 does not have (`projects
 * get-iam-policy --condition`, say) fails here rather than in production.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminServer, startAdminServer } from './helpers/admin-server.ts';
import { readBuildConfig, runBuild } from './helpers/cloudbuild.ts';
import { inheritedEnv } from './helpers/config.ts';
import {
  createGcloudDouble,
  type GcloudDouble,
  notFound,
  type Recorded,
  runScript,
  scriptsDir,
} from './helpers/gcloud-double.ts';
import {
  type RevisionsServer,
  startRevisionsServer,
} from './helpers/workflows-revisions-server.ts';

// The real Google Cloud CLI is not part of the project's toolchain: this runs
// where it is installed and is skipped, saying so, where it is not.
const hasGcloud = spawnSync('gcloud', ['--version'], { stdio: 'ignore' }).status === 0;
const repoRoot = join(scriptsDir, '..');
const WORKFLOW = 'projects/demo/locations/europe-west1/workflows/process-image';
/** gcloud verbs: the words of a command line up to one of these are its command path. */
const VERBS = new Set([
  'add',
  'add-iam-policy-binding',
  'create',
  'deploy',
  'describe',
  'enable',
  'get',
  'get-iam-policy',
  'list',
  'pause',
  'print-access-token',
  'resume',
  'update',
  'update-traffic',
]);

/** Runs the real gcloud with a fresh configuration (no account); resolves with status and stderr. */
function realGcloud(
  argv: string[],
  env: Record<string, string>,
  stdin: string,
): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('gcloud', argv, {
      env: { ...inheritedEnv, ...env },
      stdio: ['pipe', 'ignore', 'pipe'],
      timeout: 90_000,
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stderr }));
    child.stdin.end(stdin);
  });
}

describe.skipIf(!hasGcloud)(
  'every gcloud command of setup, rollback and the Cloud Build configs, through the real gcloud (skipped when gcloud is not installed)',
  () => {
    let double: GcloudDouble;
    let admin: AdminServer;
    let revisions: RevisionsServer;
    let dir: string;
    const recorded: Recorded[] = [];

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'ops-gcloud-syntax-'));
      admin = await startAdminServer([]);
      revisions = await startRevisionsServer({ [WORKFLOW]: ['000002-bad', '000001-good'] });
      const revision = JSON.stringify({
        revisionId: '000001-good',
        sourceContents: 'main:',
        userEnvVars: { MAX_RETRIES: '3' },
        serviceAccount:
          'projects/demo/serviceAccounts/slideshow-workflow@demo.iam.gserviceaccount.com',
      });
      double = await createGcloudDouble([
        { match: 'artifacts docker images describe *', stdout: `sha256:${'ab'.repeat(32)}` },
        { match: 'iam service-accounts describe * --format=value(uniqueId)', stdout: '123' },
        { match: 'run services describe backend *status.url*', stdout: admin.url },
        { match: 'run services describe backend *status.traffic*', stdout: 'backend-2' },
        {
          match: 'run revisions list *',
          stdout: JSON.stringify(
            ['backend-2', 'backend-1'].map((name, i) => ({
              metadata: { name, creationTimestamp: `2026-11-2${2 - i}T00:00:00Z` },
              status: { conditions: [{ type: 'Ready', status: 'True' }] },
            })),
          ),
        },
        {
          match: 'run jobs describe processor *',
          stdout: `europe-west1-docker.pkg.dev/demo/slideshow/processor@sha256:${'b'.repeat(64)}`,
        },
        {
          match: 'artifacts docker images list *',
          stdout: `sha256:${'b'.repeat(64)}\nsha256:${'a'.repeat(64)}`,
        },
        { match: 'config get api_endpoint_overrides/workflows', stdout: revisions.url },
        { match: 'auth print-access-token', stdout: 'tok' },
        { match: 'workflows describe process-image --revision-id=*', stdout: revision },
        {
          match: 'workflows describe process-image * --format=value(revisionId)',
          stdout: '000002-bad',
        },
        // Both admin secrets have a version (the backend build checks before deploying).
        { match: 'secrets versions list *', stdout: '1' },
        notFound('*describe*'),
      ]);
      const workspace = join(dir, 'workspace');
      await mkdir(join(workspace, 'deploy'), { recursive: true });
      await mkdir(join(workspace, 'workflows'), { recursive: true });
      await copyFile(
        join(repoRoot, 'deploy/job-limits.env'),
        join(workspace, 'deploy/job-limits.env'),
      );
      await copyFile(
        join(repoRoot, 'workflows/process-image.workflows.yaml'),
        join(workspace, 'workflows/process-image.workflows.yaml'),
      );
      const provided = {
        PROJECT_ID: 'demo',
        COMMIT_SHA: 'c0ffee',
        _BUCKET: 'demo-images',
        _BACKEND_URL: 'https://backend.example',
      };
      for (const file of [
        'backend.cloudbuild.yaml',
        'processor.cloudbuild.yaml',
        'workflows.cloudbuild.yaml',
      ]) {
        const run = await runBuild(await readBuildConfig(file), provided, workspace, double.env);
        if (run.failedStep) throw new Error(`${file}: ${run.stderr}`);
      }
      const setup = await runScript(
        'setup',
        ['--project', 'demo', '--build-service-account', 'deployer@demo.iam.gserviceaccount.com'],
        { ...double.env, ADMIN_PASSWORD_HASH: 'scrypt$x', ADMIN_TOKENS: 't'.repeat(43) },
      );
      if (setup.status !== 0) throw new Error(`setup: ${setup.stderr}`);
      const rollback = await runScript('rollback', ['--project', 'demo', 'all'], {
        ...double.env,
        ADMIN_TOKEN: admin.token,
        BACKEND_URL: admin.url,
      });
      if (rollback.status !== 0) throw new Error(`rollback: ${rollback.stderr}`);
      recorded.push(...(await double.calls()));
    });
    afterAll(async () => {
      await double?.cleanup();
      await admin?.close();
      await revisions?.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('parses every command: each reaches the credentials check (or succeeds) instead of an argument error', {
      timeout: 600_000,
    }, async () => {
      // Files named on the command line are read while parsing: stand-ins that exist.
      const source = join(dir, 'source.yaml');
      const envFile = join(dir, 'env.json');
      await writeFile(source, 'main:\n  steps: []\n');
      await writeFile(envFile, '{"MAX_RETRIES": "3"}\n');
      const commands = new Map<string, { argv: string[]; stdin: string }>();
      for (const call of recorded) {
        const argv = call.argv.map((a) =>
          a.startsWith('--source=')
            ? `--source=${source}`
            : a.startsWith('--env-vars-file=')
              ? `--env-vars-file=${envFile}`
              : a,
        );
        // One per command and set of flag names: gcloud's argument errors are about
        // which flags a command takes; replaying every binding would take minutes.
        const words = argv.filter((a) => !a.startsWith('-'));
        const verb = words.findIndex((w) => VERBS.has(w));
        const shape = [
          ...words.slice(0, verb < 0 ? words.length : verb + 1),
          ...argv
            .filter((a) => a.startsWith('-'))
            .map((a) => a.split('=')[0])
            .sort(),
        ];
        commands.set(shape.join(' '), { argv, stdin: call.stdin ?? '' });
      }
      expect(commands.size, [...commands.keys()].join('\n')).toBeGreaterThan(40);
      // Cloud Build steps pass no --project: the builder's configuration has it.
      const env = {
        CLOUDSDK_CONFIG: join(dir, 'gcloud-config'),
        CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
        CLOUDSDK_CORE_PROJECT: 'demo',
      };
      const pending = [...commands.values()];
      const failures: string[] = [];
      const worker = async () => {
        for (let next = pending.shift(); next !== undefined; next = pending.shift()) {
          const { status, stderr } = await realGcloud(next.argv, env, next.stdin);
          const reachedAuth = /You do not currently have an active account selected/.test(stderr);
          const argumentError = /unrecognized arguments|Invalid choice|argument .*: /.test(stderr);
          if (argumentError || !(reachedAuth || status === 0)) {
            failures.push(`gcloud ${next.argv.join(' ')}\n${stderr}`);
          }
        }
      };
      await Promise.all([worker(), worker()]);
      expect(failures).toEqual([]);
    });
  },
);
