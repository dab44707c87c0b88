/**
 * `gcloud run jobs` (gcloud 528: the Cloud Run Admin API v1 on a regional
 * host) against local-cloud, through the wrapper the README shows
 * (`node apps/local-cloud/src/gcloud.ts …`: gcloud-env.ts, local-cloud as
 * gcloud's proxy): execute with --update-env-vars / --tasks / --wait, jobs
 * describe / list (regional and global), executions list / describe /
 * cancel, tasks list, a failed execution, create / update / delete, and a
 * Cloud Tasks command in the same environment. Runs in the shared suite (it
 * needs a machine with gcloud); skipped, saying so, without gcloud.
 */
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { coerceError } from '@slideshow/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostEnvironment } from '../src/config.ts';
import type { RunningLocalCloud } from '../src/server.ts';
import { api, removeDir, startCloud, tempDir, waitFor } from './helpers.ts';
import { createScriptJob, startsIn, writeJobScript } from './job-script.ts';

const execFileAsync = promisify(execFile);
const hasGcloud = spawnSync('gcloud', ['--version'], { stdio: 'ignore' }).status === 0;
const WRAPPER = fileURLToPath(new URL('../src/gcloud.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/** The real gcloud takes seconds per call on a loaded 2-core machine. */
const TEST_TIMEOUT_MS = 240_000;
const PROJECT = 'local-project';
const REGION = 'us-central1';
let dir: string;
let script: string;
let cloud: RunningLocalCloud;

/** What the wrapper needs to find this test's local-cloud, and a private gcloud configuration. */
function wrapperEnv(): Record<string, string | undefined> {
  return {
    // This Node first: the npm script's bootstrap then installs nothing.
    PATH: `${dirname(process.execPath)}:${hostEnvironment().PATH}`,
    HOME: dir,
    CLOUDSDK_CONFIG: join(dir, 'gcloud-config'),
    CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
    LOCAL_CLOUD_PORT: String(cloud.port),
    LOCAL_CLOUD_DATA_DIR: join(dir, 'data'),
    LOCAL_CLOUD_PROJECT: PROJECT,
    LOCAL_CLOUD_LOCATION: REGION,
  };
}

/** Runs gcloud through the wrapper, as the README does; `--region` is gcloud-env's run/region. */
async function gcloud(...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(process.execPath, [WRAPPER, ...args], {
    timeout: 120_000,
    env: wrapperEnv(),
  });
  return stdout;
}

// biome-ignore lint/suspicious/noExplicitAny: gcloud's JSON.
async function gcloudJson(...args: string[]): Promise<any> {
  return JSON.parse(await gcloud(...args, '--format=json'));
}

/** A job running the test script, created over v2 REST as the local stack creates the processor job. */
const createJob = (id: string, env: Record<string, string>, taskCount = 1): Promise<string> =>
  createScriptJob(cloud, { project: PROJECT, region: REGION, id, dir, script, env, taskCount });

describe.skipIf(!hasGcloud)(
  'gcloud run jobs against local-cloud (skipped when gcloud is not installed)',
  () => {
    beforeAll(async () => {
      dir = tempDir();
      script = writeJobScript(dir);
      cloud = await startCloud(join(dir, 'data'), {
        projectId: PROJECT,
        jobCommands: [['node', script]],
      });
    });
    afterAll(async () => {
      await cloud?.stop();
      removeDir(dir);
    });

    it(
      'executes a job with --update-env-vars, --tasks and --wait, and shows the execution and its tasks',
      async () => {
        const out = await createJob('greeter', { MODE: 'ok', GREETING: 'hello' });
        const execution = await gcloudJson(
          'run',
          'jobs',
          'execute',
          'greeter',
          '--update-env-vars=GREETING=bonjour',
          '--tasks=3',
          '--wait',
        );
        const name: string = execution.metadata.name;
        expect(execution.status).toMatchObject({ succeededCount: 3, failedCount: 0 });
        expect(startsIn(out).sort()).toEqual(['t0-a0', 't1-a0', 't2-a0']);
        for (const me of ['t0-a0', 't1-a0', 't2-a0']) {
          const env = JSON.parse(readFileSync(join(out, `${me}.json`), 'utf8'));
          expect(env, me).toMatchObject({ GREETING: 'bonjour', CLOUD_RUN_TASK_COUNT: '3' });
        }

        // As the runbook (docs/operations.md) lists them.
        const listed = await gcloudJson(
          'run',
          'jobs',
          'executions',
          'list',
          '--job=greeter',
          '--limit=20',
        );
        expect(listed.map((e: { metadata: { name: string } }) => e.metadata.name)).toEqual([name]);
        const described = await gcloudJson('run', 'jobs', 'executions', 'describe', name);
        expect(described.status.conditions.at(-1)).toMatchObject({
          type: 'Completed',
          status: 'True',
        });
        expect(described.status.logUri).toContain(name);
        const tasks = await gcloudJson(
          'run',
          'jobs',
          'executions',
          'tasks',
          'list',
          `--execution=${name}`,
        );
        expect(
          tasks.map((t: { metadata: { name: string; labels: Record<string, string> } }) => [
            t.metadata.name,
            t.metadata.labels['run.googleapis.com/runningState'],
          ]),
        ).toEqual([
          [`${name}-task0`, 'Succeeded'],
          [`${name}-task1`, 'Succeeded'],
          [`${name}-task2`, 'Succeeded'],
        ]);

        const job = await gcloudJson('run', 'jobs', 'describe', 'greeter');
        expect(job).toMatchObject({
          metadata: { name: 'greeter', namespace: PROJECT },
          spec: { template: { spec: { taskCount: 1 } } },
          status: {
            executionCount: 1,
            latestCreatedExecution: { name, completionStatus: 'EXECUTION_SUCCEEDED' },
          },
        });
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'lists jobs in the region and, without --region, in every region',
      async () => {
        await createJob('listed', { MODE: 'ok' });
        const names = (jobs: { metadata: { name: string } }[]) => jobs.map((j) => j.metadata.name);
        expect(names(await gcloudJson('run', 'jobs', 'list', `--region=${REGION}`))).toContain(
          'listed',
        );
        expect(names(await gcloudJson('run', 'jobs', 'list'))).toContain('listed');
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'runs through the root `npm run --silent gcloud --` the root README shows',
      async () => {
        await createJob('through-npm', { MODE: 'ok' });
        const { stdout } = await execFileAsync(
          'npm',
          [
            'run',
            '--silent',
            'gcloud',
            '--',
            'run',
            'jobs',
            'describe',
            'through-npm',
            '--format=json',
          ],
          { cwd: REPO_ROOT, timeout: 120_000, env: wrapperEnv() },
        );
        expect(JSON.parse(stdout).metadata).toMatchObject({
          name: 'through-npm',
          namespace: PROJECT,
        });
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'cancels a running execution',
      async () => {
        const out = await createJob('long', { MODE: 'wait-for-allow' });
        await gcloud('run', 'jobs', 'execute', 'long', '--async');
        const [execution] = await gcloudJson('run', 'jobs', 'executions', 'list', '--job=long');
        const name: string = execution.metadata.name;
        await waitFor(() => (startsIn(out).length > 0 ? true : undefined), 'the task to start');
        await gcloud('run', 'jobs', 'executions', 'cancel', name);
        writeFileSync(join(out, 'allow'), '');
        const described = await gcloudJson('run', 'jobs', 'executions', 'describe', name);
        expect(described.status.conditions.at(-1)).toMatchObject({
          type: 'Completed',
          status: 'False',
          reason: 'Cancelled',
        });
        expect(described.status.cancelledCount).toBe(1);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'fails `execute --wait` when the execution fails',
      async () => {
        await createJob('failing', { MODE: 'fail-until', SUCCEED_AT: '5' });
        const failed = await gcloud('run', 'jobs', 'execute', 'failing', '--wait').then(
          () => undefined,
          (error: unknown) => coerceError(error).message,
        );
        expect(failed).toMatch(/The execution failed/);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'creates, updates and deletes a job, and refuses an unregistered command line',
      async () => {
        await gcloud(
          'run',
          'jobs',
          'create',
          'made-by-gcloud',
          '--image=local/test-job',
          '--command=node',
          `--args=${script}`,
          '--tasks=2',
          `--set-env-vars=MODE=ok,OUT_DIR=${dir}`,
        );
        await gcloud('run', 'jobs', 'update', 'made-by-gcloud', '--tasks=4');
        const job = await gcloudJson('run', 'jobs', 'describe', 'made-by-gcloud');
        expect(job.metadata.generation).toBe(2);
        expect(job.spec.template.spec.taskCount).toBe(4);
        await gcloud('run', 'jobs', 'delete', 'made-by-gcloud');
        const gone = await api(
          cloud,
          'GET',
          `/v2/projects/${PROJECT}/locations/${REGION}/jobs/made-by-gcloud`,
        );
        expect(gone.status).toBe(404);
        const refused = await gcloud(
          'run',
          'jobs',
          'create',
          'shell',
          '--image=x',
          '--command=sh',
          '--args=-c,id',
        ).then(
          () => undefined,
          (error: unknown) => coerceError(error).message,
        );
        expect(refused).toContain('LOCAL_CLOUD_JOB_COMMANDS');
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'reaches Cloud Tasks in the same environment',
      async () => {
        await gcloud('tasks', 'queues', 'create', 'through-proxy', `--location=${REGION}`);
        const queues = await gcloudJson('tasks', 'queues', 'list', `--location=${REGION}`);
        expect(queues.map((q: { name: string }) => q.name)).toContain(
          `projects/${PROJECT}/locations/${REGION}/queues/through-proxy`,
        );
      },
      TEST_TIMEOUT_MS,
    );
  },
);
