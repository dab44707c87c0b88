/**
 * The Cloud Run v2 Job, Execution and Task resources carry the fields Google
 * documents (https://cloud.google.com/run/docs/reference/rest/v2/projects.locations.jobs,
 * …/jobs.executions, …/jobs.executions.tasks): generation and
 * observedGeneration, the job's Ready terminalCondition, its
 * latestCreatedExecution.completionStatus, the execution's logUri and
 * inherited labels, `job` as the job's id everywhere, the Completed
 * condition's executionReason, and executions.tasks.get.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningLocalCloud } from '../src/server.ts';
import { api, PARENT, removeDir, startCloud, tempDir, waitFor } from './helpers.ts';
import { startsIn, writeJobScript } from './job-script.ts';

const J = `/v2/${PARENT}/jobs`;
let dir: string;
let script: string;
let cloud: RunningLocalCloud;

beforeAll(async () => {
  dir = tempDir();
  script = writeJobScript(dir);
  cloud = await startCloud(join(dir, 'data'), { jobCommands: [['node', script]] });
});
afterAll(async () => {
  await cloud.stop();
  removeDir(dir);
});

/** Creates job `id` running the test script in `mode`; returns its output dir. */
async function createJob(id: string, env: Record<string, string>, taskCount = 1): Promise<string> {
  const out = join(dir, id);
  mkdirSync(out);
  const res = await api(cloud, 'POST', `${J}?jobId=${id}`, {
    labels: { team: 'images' },
    template: {
      taskCount,
      template: {
        maxRetries: 0,
        timeout: '60s',
        containers: [
          {
            image: 'local/test-job',
            command: ['node', script],
            env: Object.entries({ ...env, OUT_DIR: out }).map(([name, value]) => ({ name, value })),
          },
        ],
      },
    },
  });
  expect(res, JSON.stringify(res)).toMatchObject({ status: 200, body: { done: true } });
  return out;
}

// biome-ignore lint/suspicious/noExplicitAny: Google JSON.
async function finished(execution: string): Promise<any> {
  return waitFor(async () => {
    const res = await api(cloud, 'GET', `/v2/${execution}`);
    return res.body.completionTime ? res.body : undefined;
  }, `${execution} to finish`);
}

async function run(job: string): Promise<string> {
  const op = await api(cloud, 'POST', `${J}/${job}:run`, {});
  expect(op.status, JSON.stringify(op)).toBe(200);
  return op.body.metadata.name;
}

describe('Job', () => {
  it('reports generation, observedGeneration and a Ready terminalCondition, and both move on patch', async () => {
    await createJob('gen', { MODE: 'ok' });
    const job = (await api(cloud, 'GET', `${J}/gen`)).body;
    expect(job).toMatchObject({
      generation: '1',
      observedGeneration: '1',
      terminalCondition: { type: 'Ready', state: 'CONDITION_SUCCEEDED' },
      labels: { team: 'images' },
    });
    expect(Date.parse(job.terminalCondition.lastTransitionTime)).not.toBeNaN();
    const patched = await api(cloud, 'PATCH', `${J}/gen`, { template: job.template });
    expect(patched.body.response).toMatchObject({ generation: '2', observedGeneration: '2' });
  });
});

describe('Execution and its tasks', () => {
  it('names its job by id, inherits the job labels, has generation 1 and a Cloud Logging logUri', async () => {
    await createJob('fields', { MODE: 'ok' }, 2);
    const name = await run('fields');
    const execution = await finished(name);
    const id = name.split('/').at(-1);
    expect(execution).toMatchObject({
      job: 'fields',
      generation: '1',
      observedGeneration: '1',
      labels: { team: 'images' },
    });
    const logUri = new URL(execution.logUri);
    expect(logUri.origin).toBe('https://console.cloud.google.com');
    expect(logUri.searchParams.get('project')).toBe('p1');
    expect(logUri.searchParams.get('advancedFilter')).toBe(
      [
        'resource.type="cloud_run_job"',
        'resource.labels.job_name="fields"',
        'resource.labels.location="us-central1"',
        `labels."run.googleapis.com/execution_name"="${id}"`,
      ].join('\n'),
    );
    const tasks = (await api(cloud, 'GET', `/v2/${name}/tasks`)).body.tasks;
    expect(tasks).toHaveLength(2);
    for (const [index, task] of tasks.entries()) {
      expect(task).toMatchObject({
        name: `${name}/tasks/${id}-task${index}`,
        job: 'fields',
        execution: id,
        index,
        retried: 0,
        generation: '1',
        observedGeneration: '1',
        logUri: execution.logUri,
        conditions: [{ type: 'Completed', state: 'CONDITION_SUCCEEDED' }],
        lastAttemptResult: { exitCode: 0 },
      });
    }
  });

  it('gets one task by name (executions.tasks.get), and 404 for a task it does not have', async () => {
    await createJob('one-task', { MODE: 'ok' }, 3);
    const name = await run('one-task');
    await finished(name);
    const id = name.split('/').at(-1);
    const listed = (await api(cloud, 'GET', `/v2/${name}/tasks`)).body.tasks;
    const got = await api(cloud, 'GET', `/v2/${name}/tasks/${id}-task1`);
    expect(got, JSON.stringify(got)).toMatchObject({ status: 200 });
    expect(got.body).toEqual(listed[1]);
    for (const other of [`${id}-task3`, `${id}-task01`, 'someone-else-task0']) {
      const missing = await api(cloud, 'GET', `/v2/${name}/tasks/${other}`);
      expect(missing.body.error?.status, other).toBe('NOT_FOUND');
    }
  });

  it('records the end on the job: completionStatus SUCCEEDED, FAILED, and CANCELLED with executionReason', async () => {
    await createJob('ends-ok', { MODE: 'ok' });
    await finished(await run('ends-ok'));
    const ok = (await api(cloud, 'GET', `${J}/ends-ok`)).body;
    expect(ok.latestCreatedExecution).toMatchObject({ completionStatus: 'EXECUTION_SUCCEEDED' });
    expect(ok.latestCreatedExecution.completionTime).toBeTypeOf('string');

    await createJob('ends-failed', { MODE: 'fail-until', SUCCEED_AT: '9' });
    const failedExecution = await finished(await run('ends-failed'));
    expect(failedExecution.conditions.at(-1)).toMatchObject({
      type: 'Completed',
      state: 'CONDITION_FAILED',
      executionReason: 'NON_ZERO_EXIT_CODE',
    });
    const failedJob = (await api(cloud, 'GET', `${J}/ends-failed`)).body;
    expect(failedJob.latestCreatedExecution.completionStatus).toBe('EXECUTION_FAILED');

    const out = await createJob('ends-cancelled', { MODE: 'wait-for-allow' });
    const name = await run('ends-cancelled');
    const running = (await api(cloud, 'GET', `${J}/ends-cancelled`)).body;
    expect(running.latestCreatedExecution.completionStatus).toBe('EXECUTION_RUNNING');
    await waitFor(() => (startsIn(out).length > 0 ? true : undefined), 'the task to start');
    expect((await api(cloud, 'POST', `/v2/${name}:cancel`, {})).status).toBe(200);
    const cancelled = await finished(name);
    writeFileSync(join(out, 'allow'), '');
    expect(cancelled.conditions.at(-1)).toMatchObject({
      type: 'Completed',
      state: 'CONDITION_FAILED',
      executionReason: 'CANCELLED',
    });
    const task = (await api(cloud, 'GET', `/v2/${name}/tasks`)).body.tasks[0];
    expect(task.conditions[0]).toMatchObject({
      state: 'CONDITION_FAILED',
      executionReason: 'CANCELLED',
    });
    const job = (await api(cloud, 'GET', `${J}/ends-cancelled`)).body;
    expect(job.latestCreatedExecution.completionStatus).toBe('EXECUTION_CANCELLED');
  });
});
