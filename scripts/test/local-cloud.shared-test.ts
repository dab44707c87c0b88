import { execFile, spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type RunningLocalCloud, startLocalCloud } from '@slideshow/local-cloud/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJobLimits } from '../../tools/job-limits.ts';
import { inheritedEnv } from './helpers/config.ts';
import { DOCS, docCommands } from './helpers/docs-commands.ts';
import { printedCommands, runScript, scriptsDir } from './helpers/gcloud-double.ts';

// The real Google Cloud CLI is not part of the project's toolchain: these tests
// run where it is installed (development machines, CI images that have it) and
// are skipped, saying so, where it is not.
const execFileAsync = promisify(execFile);
const hasGcloud = spawnSync('gcloud', ['--version'], { stdio: 'ignore' }).status === 0;
const PROJECT = 'demo';
// The real gcloud takes seconds per call on a loaded 2-core machine.
const SCRIPT_TIMEOUT_MS = 170_000;
const TEST_TIMEOUT_MS = 240_000;
const REGION = 'europe-west1';

describe.skipIf(!hasGcloud)(
  'scripts/setup and scripts/rollback with the real gcloud against local-cloud (skipped when gcloud is not installed)',
  () => {
    let cloud: RunningLocalCloud;
    let dir: string;
    let repo: string;
    let env: Record<string, string>;
    let good = '';
    const workflowSource = join(scriptsDir, '../workflows/process-image.workflows.yaml');

    // Asynchronous on purpose: local-cloud answers from this same process.
    async function gcloud(...args: string[]): Promise<string> {
      const { stdout } = await execFileAsync(
        'gcloud',
        [...args, `--project=${PROJECT}`, '--format=json'],
        {
          env: { ...inheritedEnv, ...env },
          encoding: 'utf8',
          timeout: 60_000,
        },
      );
      return stdout;
    }

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'ops-local-cloud-'));
      cloud = await startLocalCloud({
        dataDir: join(dir, 'data'),
        projectId: PROJECT,
        location: REGION,
      });
      // The repository setup deploys from: this checkout's workflow and job limits.
      repo = join(dir, 'repo');
      await mkdir(join(repo, 'workflows'), { recursive: true });
      await mkdir(join(repo, 'deploy'), { recursive: true });
      good = await readFile(workflowSource, 'utf8');
      await writeFile(join(repo, 'workflows/process-image.workflows.yaml'), good);
      await copyFile(
        join(scriptsDir, '../deploy/job-limits.env'),
        join(repo, 'deploy/job-limits.env'),
      );
      env = {
        SLIDESHOW_REPO: repo,
        CLOUDSDK_CONFIG: join(dir, 'gcloud-config'),
        CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
        // local-cloud answers only callers with its token: gcloud sends it as its access token.
        CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: cloud.tokenFile,
        CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDTASKS: `${cloud.url}/`,
        CLOUDSDK_API_ENDPOINT_OVERRIDES_WORKFLOWS: `${cloud.url}/`,
        CLOUDSDK_API_ENDPOINT_OVERRIDES_WORKFLOWEXECUTIONS: `${cloud.url}/`,
      };
    });
    afterAll(async () => {
      await cloud?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    const setupArgs = [
      '--project',
      PROJECT,
      '--region',
      REGION,
      '--steps',
      'queues,workflow',
      '--backend-url',
      'https://backend.example',
    ];

    it('creates both queues with the quota-derived settings and deploys the workflow with its environment', {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const result = await runScript('setup', setupArgs, env, undefined, SCRIPT_TIMEOUT_MS);
      expect(result.status, result.stderr).toBe(0);
      const uploads = JSON.parse(
        await gcloud('tasks', 'queues', 'describe', 'image-uploads', `--location=${REGION}`),
      );
      expect(uploads.rateLimits).toMatchObject({
        maxDispatchesPerSecond: 0.6,
        maxConcurrentDispatches: 10,
      });
      expect(uploads.retryConfig).toEqual({
        maxAttempts: 30,
        minBackoff: '1s',
        maxBackoff: '300s',
        maxDoublings: 6,
        maxRetryDuration: '21600s',
      });
      const ingest = JSON.parse(
        await gcloud('tasks', 'queues', 'describe', 'image-ingest', `--location=${REGION}`),
      );
      expect(ingest.rateLimits).toMatchObject({
        maxDispatchesPerSecond: 0.2,
        maxConcurrentDispatches: 2,
      });
      const workflow = JSON.parse(
        await gcloud('workflows', 'describe', 'process-image', `--location=${REGION}`),
      );
      const limits = readJobLimits();
      expect(workflow.userEnvVars).toEqual({
        PROCESSOR_JOB: 'processor',
        BACKEND_URL: 'https://backend.example',
        TASK_TIMEOUT_SECONDS: String(limits.taskTimeoutSeconds),
        MAX_RETRIES: String(limits.maxRetries),
        JOB_PARALLELISM: String(limits.jobParallelism),
      });
      expect(workflow.serviceAccount).toContain('slideshow-workflow@demo.iam.gserviceaccount.com');
    });

    it('changes nothing on a second run: the queues have the computed settings, the workflow exists', {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const result = await runScript('setup', setupArgs, env, undefined, SCRIPT_TIMEOUT_MS);
      expect(result.status, result.stderr).toBe(0);
      expect(printedCommands(result.stdout)).toEqual([]);
      expect(result.stderr).toContain('ok: queue image-uploads has the computed settings');
      expect(result.stderr).toContain('ok: queue image-ingest has the computed settings');
      expect(result.stderr).toContain('ok: workflow process-image exists');
      expect(result.stderr).toContain('setup: nothing to change');
    });

    it('rolls the workflow back to the revision deployed before the bad one, between a pause and a resume of both queues', {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const deployed = JSON.parse(
        await gcloud('workflows', 'describe', 'process-image', `--location=${REGION}`),
      );
      // A bad release: new source and a changed env var.
      const bad = join(dir, 'bad.workflows.yaml');
      await writeFile(bad, `# bad release\n${good}`);
      await gcloud(
        'workflows',
        'deploy',
        'process-image',
        `--source=${bad}`,
        `--location=${REGION}`,
        '--update-env-vars=MAX_RETRIES=9',
      );
      const before = JSON.parse(
        await gcloud('workflows', 'describe', 'process-image', `--location=${REGION}`),
      );
      expect(before.revisionId).not.toBe(deployed.revisionId);
      const rollbackWorkflow = () =>
        runScript(
          'rollback',
          ['--project', PROJECT, '--region', REGION, '--no-requeue', 'workflow'],
          env,
          undefined,
          SCRIPT_TIMEOUT_MS,
        );
      const result = await rollbackWorkflow();
      expect(result.status, result.stderr).toBe(0);
      expect(printedCommands(result.stdout).map((c) => c.split(' ').slice(0, 5).join(' '))).toEqual(
        [
          'gcloud tasks queues pause image-uploads',
          'gcloud tasks queues pause image-ingest',
          expect.stringMatching(/^gcloud workflows deploy process-image --source=/),
          'gcloud tasks queues resume image-uploads',
          'gcloud tasks queues resume image-ingest',
        ],
      );
      expect(result.stderr).toContain(
        `workflow: process-image back to revision ${deployed.revisionId} (now ${before.revisionId})`,
      );
      const after = JSON.parse(
        await gcloud('workflows', 'describe', 'process-image', `--location=${REGION}`),
      );
      expect(after.sourceContents).toBe(good);
      expect(after.userEnvVars).toEqual(deployed.userEnvVars);
      expect(after.serviceAccount).toBe(deployed.serviceAccount);
      for (const queue of ['image-uploads', 'image-ingest']) {
        const q = JSON.parse(
          await gcloud('tasks', 'queues', 'describe', queue, `--location=${REGION}`),
        );
        expect(q.state, queue).toBe('RUNNING');
      }
      // Run again, the default would be the bad release: the current revision is a rollback.
      const again = await rollbackWorkflow();
      expect(again.status).toBe(1);
      expect(again.stderr).toContain(
        `which has the contents of the older revision ${deployed.revisionId}`,
      );
    });

    it("answers the runbook's Cloud Tasks and Workflows commands, exactly as written", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const lines: string[] = [];
      for (const doc of DOCS) {
        for (const line of await docCommands(doc)) {
          if (/^gcloud (tasks|workflows) /.test(line)) lines.push(line);
        }
      }
      expect(lines.length).toBeGreaterThanOrEqual(6);
      for (const line of lines) {
        const { stderr } = await execFileAsync('bash', ['-c', line], {
          env: { ...inheritedEnv, ...env, PROJECT, REGION },
          encoding: 'utf8',
          timeout: 90_000,
        }).catch((error: Error & { stderr?: string }) => {
          throw new Error(`${line}\n${error.stderr ?? error.message}`);
        });
        expect(stderr, line).not.toMatch(/ERROR/);
      }
      for (const queue of ['image-uploads', 'image-ingest']) {
        const q = JSON.parse(
          await gcloud('tasks', 'queues', 'describe', queue, `--location=${REGION}`),
        );
        expect(q.state, queue).toBe('RUNNING');
      }
    });
  },
);
