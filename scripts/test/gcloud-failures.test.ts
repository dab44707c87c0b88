/**
 * scripts/setup and scripts/rollback with the real gcloud when a read fails:
 * only gcloud's NOT_FOUND means "does not exist"; a refused token or an API
 * that cannot be reached stops the script with gcloud's own message and the
 * project and region it used, before anything is planned or changed; with no
 * account, that message keeps gcloud's next step (`gcloud auth login`). Skipped
 * where gcloud is not installed (see local-cloud.shared-test.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningLocalCloud, startLocalCloud } from '@slideshow/local-cloud/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort } from './helpers/closed-port.ts';
import { printedCommands, runScript } from './helpers/gcloud-double.ts';

const hasGcloud = spawnSync('gcloud', ['--version'], { stdio: 'ignore' }).status === 0;
const PROJECT = 'demo';
const REGION = 'europe-west1';
// The real gcloud takes seconds per call on a loaded 2-core machine.
const SCRIPT_TIMEOUT_MS = 120_000;
const TEST_TIMEOUT_MS = 180_000;

/** Runs a script with a bounded time (the real gcloud retries an unreachable API for ~30 s). */
function run(name: string, args: string[], env: Record<string, string>) {
  return runScript(name, args, env, undefined, SCRIPT_TIMEOUT_MS);
}

describe.skipIf(!hasGcloud)(
  'scripts/setup and scripts/rollback when the real gcloud cannot read (skipped when gcloud is not installed)',
  () => {
    let cloud: RunningLocalCloud;
    let dir: string;
    let gcloudEnv: (api: string, tokenFile: string) => Record<string, string>;
    let down: string;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'ops-gcloud-failures-'));
      cloud = await startLocalCloud({
        dataDir: join(dir, 'data'),
        projectId: PROJECT,
        location: REGION,
      });
      await writeFile(join(dir, 'wrong.token'), 'not-the-token\n');
      down = `http://127.0.0.1:${await closedPort()}/`;
      gcloudEnv = (api, tokenFile) => ({
        CLOUDSDK_CONFIG: join(dir, 'gcloud-config'),
        CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
        CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: tokenFile,
        CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDTASKS: api,
        CLOUDSDK_API_ENDPOINT_OVERRIDES_WORKFLOWS: api,
      });
    });
    afterAll(async () => {
      await cloud?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    const setupDryRun = [
      '--project',
      PROJECT,
      '--region',
      REGION,
      '--steps',
      'queues',
      '--dry-run',
    ];

    it('plans to create the queues that gcloud reports NOT_FOUND (the answer the scripts read as missing)', {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const result = await run('setup', setupDryRun, gcloudEnv(`${cloud.url}/`, cloud.tokenFile));
      expect(result.status, result.stderr).toBe(0);
      expect(printedCommands(result.stdout).map((c) => c.split(' ').slice(0, 5).join(' '))).toEqual(
        ['gcloud tasks queues create image-uploads', 'gcloud tasks queues create image-ingest'],
      );
    });

    it("stops with gcloud's UNAUTHENTICATED and the project and region, planning nothing, when the API refuses the token", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const result = await run(
        'setup',
        setupDryRun,
        gcloudEnv(`${cloud.url}/`, join(dir, 'wrong.token')),
      );
      expect(result.status).toBe(1);
      expect(printedCommands(result.stdout)).toEqual([]);
      expect(result.stderr).toContain(
        `error: gcloud tasks queues describe image-uploads --location=${REGION} --project=${PROJECT}`,
      );
      expect(result.stderr).toContain(
        'ERROR: (gcloud.tasks.queues.describe) UNAUTHENTICATED: Request had invalid authentication credentials.',
      );
      expect(result.stderr).not.toContain('dry run done');
    });

    it("stops with gcloud's own next step (gcloud auth login), planning nothing, when gcloud has no account", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      // A config folder of its own with no account and no token: gcloud as on a fresh machine.
      const result = await run('setup', setupDryRun, {
        CLOUDSDK_CONFIG: join(dir, 'gcloud-no-account'),
        CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
        CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDTASKS: down,
      });
      expect(result.status).toBe(1);
      expect(printedCommands(result.stdout)).toEqual([]);
      expect(result.stderr).toContain(
        'ERROR: (gcloud.tasks.queues.describe) You do not currently have an active account selected.',
      );
      expect(result.stderr).toContain('$ gcloud auth login');
    });

    it('stops with the connection error, planning nothing, when the API cannot be reached', {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const result = await run('setup', setupDryRun, gcloudEnv(down, cloud.tokenFile));
      expect(result.status).toBe(1);
      expect(printedCommands(result.stdout)).toEqual([]);
      expect(result.stderr).toContain(`--location=${REGION} --project=${PROJECT} failed:`);
      expect(result.stderr).toContain('Connection refused');
    });

    it("names gcloud's reason when rollback cannot describe the workflow, and changes nothing", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const result = await run(
        'rollback',
        ['--project', PROJECT, '--no-requeue', 'workflow'],
        gcloudEnv(down, cloud.tokenFile),
      );
      expect(result.status).toBe(1);
      expect(printedCommands(result.stdout)).toEqual([]);
      expect(result.stderr).toContain(
        `error: gcloud workflows describe process-image --location=${REGION} --project=${PROJECT}`,
      );
      expect(result.stderr).toContain('Connection refused');
    });
  },
);
