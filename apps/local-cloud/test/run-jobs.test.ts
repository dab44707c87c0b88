import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningLocalCloud } from '../src/server.ts';
import { api, PARENT, removeDir, startCloud, tempDir, waitFor } from './helpers.ts';
import { createScriptJob, startsIn, writeJobScript } from './job-script.ts';

const J = `/v2/${PARENT}/jobs`;
let dir: string;
let script: string;
let cloud: RunningLocalCloud;
let jobSeq = 0;

beforeAll(async () => {
  dir = tempDir();
  script = writeJobScript(dir);
  cloud = await startCloud(join(dir, 'data'), { jobCommands: [['node', script]] });
});
afterAll(async () => {
  await cloud.stop();
  removeDir(dir);
});

interface JobOptions {
  env: Record<string, string>;
  taskCount?: number;
  parallelism?: number;
  maxRetries?: number;
  timeout?: string;
  memory?: string;
}

/** Creates a job running the test script; returns its name and output dir. */
async function createJob(o: JobOptions): Promise<{ name: string; out: string }> {
  const id = `job-${++jobSeq}`;
  const out = join(dir, id);
  mkdirSync(out);
  const env = Object.entries({ ...o.env, OUT_DIR: out }).map(([name, value]) => ({ name, value }));
  const res = await api(cloud, 'POST', `${J}?jobId=${id}`, {
    template: {
      taskCount: o.taskCount ?? 1,
      parallelism: o.parallelism ?? 0,
      template: {
        maxRetries: o.maxRetries ?? 0,
        timeout: o.timeout ?? '60s',
        containers: [
          {
            image: 'local/test-job',
            command: ['node', script],
            env,
            ...(o.memory ? { resources: { limits: { memory: o.memory } } } : {}),
          },
        ],
      },
    },
  });
  expect(res, JSON.stringify(res)).toMatchObject({ status: 200, body: { done: true } });
  return { name: `${PARENT}/jobs/${id}`, out };
}

/** Runs the job and waits for its operation to finish. */
// biome-ignore lint/suspicious/noExplicitAny: Google JSON.
async function runToEnd(job: string, body: unknown = {}): Promise<any> {
  const started = await api(cloud, 'POST', `/v2/${job}:run`, body);
  expect(started, JSON.stringify(started)).toMatchObject({ status: 200, body: { done: false } });
  return waitFor(
    async () => {
      const op = await api(cloud, 'GET', `/v2/${started.body.name}`);
      return op.body.done ? op.body : undefined;
    },
    'the job execution to finish',
    40_000,
  );
}

describe('Cloud Run jobs', () => {
  it('runs a task with the container env, the overrides and the CLOUD_RUN_* variables', async () => {
    const job = await createJob({ env: { MODE: 'ok', FROM_JOB: 'yes' } });
    const op = await runToEnd(job.name, {
      overrides: { containerOverrides: [{ env: [{ name: 'TARGET_FILE_ID', value: 'img-1' }] }] },
    });
    expect(op.error).toBeUndefined();
    expect(op.response).toMatchObject({ succeededCount: 1, failedCount: 0, taskCount: 1 });
    expect(op.response.conditions).toContainEqual(
      expect.objectContaining({ type: 'Completed', state: 'CONDITION_SUCCEEDED' }),
    );
    const env = JSON.parse(readFileSync(join(job.out, 't0-a0.json'), 'utf8'));
    const executionId = op.response.name.split('/').pop();
    expect(env).toMatchObject({
      FROM_JOB: 'yes',
      TARGET_FILE_ID: 'img-1',
      CLOUD_RUN_JOB: job.name.split('/').pop(),
      CLOUD_RUN_EXECUTION: executionId,
      CLOUD_RUN_TASK_INDEX: '0',
      CLOUD_RUN_TASK_ATTEMPT: '0',
      CLOUD_RUN_TASK_COUNT: '1',
    });
    expect(env.LOCAL_CLOUD_PORT).toBeUndefined();
    const got = await api(cloud, 'GET', `/v2/${op.response.name}`);
    expect(got.body).toMatchObject({ name: op.response.name, succeededCount: 1 });
    const list = await api(cloud, 'GET', `/v2/${job.name}/executions`);
    expect(list.body.executions).toHaveLength(1);
  });

  it('retries a failing task with attempts 0..maxRetries and fails the execution', async () => {
    const job = await createJob({ env: { MODE: 'fail-until', SUCCEED_AT: '99' }, maxRetries: 2 });
    const op = await runToEnd(job.name);
    expect(startsIn(job.out)).toEqual(['t0-a0', 't0-a1', 't0-a2']);
    expect(op.error.message).toContain('exit code 3');
    expect(op.metadata).toMatchObject({ failedCount: 1, succeededCount: 0, retriedCount: 1 });
    expect(op.metadata.conditions).toContainEqual(
      expect.objectContaining({ type: 'Completed', state: 'CONDITION_FAILED' }),
    );
  });

  it('succeeds when a retry succeeds', async () => {
    const job = await createJob({ env: { MODE: 'fail-until', SUCCEED_AT: '1' }, maxRetries: 3 });
    const op = await runToEnd(job.name);
    expect(startsIn(job.out)).toEqual(['t0-a0', 't0-a1']);
    expect(op.response).toMatchObject({ succeededCount: 1, retriedCount: 1 });
  });

  it('sends SIGTERM at the task timeout and SIGKILL after the grace period', async () => {
    // Well above a Node start on a loaded machine: the script's handler is in place by then.
    const job = await createJob({ env: { MODE: 'ignore-term' }, timeout: '8s' });
    const op = await runToEnd(job.name);
    expect(readFileSync(join(job.out, 'got-sigterm'), 'utf8')).toBe('t0-a0');
    expect(op.error.message).toContain('timeout');
  });

  it('runs taskCount tasks with their index, at most parallelism at once', async () => {
    const job = await createJob({ env: { MODE: 'parallel' }, taskCount: 4, parallelism: 2 });
    const op = await runToEnd(job.name);
    expect(op.response).toMatchObject({ succeededCount: 4, taskCount: 4, parallelism: 2 });
    expect(startsIn(job.out).sort()).toEqual(['t0-a0', 't1-a0', 't2-a0', 't3-a0']);
    const seen = readFileSync(join(job.out, 'concurrency'), 'utf8').trim().split('\n').map(Number);
    expect(Math.max(...seen)).toBeLessThanOrEqual(2);
    const env = JSON.parse(readFileSync(join(job.out, 't3-a0.json'), 'utf8'));
    expect(env.CLOUD_RUN_TASK_COUNT).toBe('4');
  });

  it('overrides taskCount and timeout per run', async () => {
    const job = await createJob({ env: { MODE: 'ok' } });
    const op = await runToEnd(job.name, { overrides: { taskCount: 2, timeout: '30s' } });
    expect(op.response).toMatchObject({ taskCount: 2, succeededCount: 2 });
    expect(op.response.template.timeout).toBe('30s');
  });

  it('kills a task whose resident memory passes resources.limits.memory', async () => {
    const job = await createJob({ env: { MODE: 'memory' }, memory: '96Mi' });
    const op = await runToEnd(job.name);
    expect(op.error.message).toContain('Memory limit');
  });

  it('cancels a running execution: tasks get SIGTERM, the rest never start', async () => {
    const job = await createJob({ env: { MODE: 'wait-for-allow' }, taskCount: 3, parallelism: 1 });
    const started = await api(cloud, 'POST', `/v2/${job.name}:run`, {});
    const execution = started.body.metadata.name;
    await waitFor(() => (existsSync(join(job.out, 't0-a0.pid')) ? true : undefined), 'task 0');
    const cancelled = await api(cloud, 'POST', `/v2/${execution}:cancel`, {});
    expect(cancelled.status, JSON.stringify(cancelled)).toBe(200);
    const op = await waitFor(async () => {
      const res = await api(cloud, 'GET', `/v2/${cancelled.body.name}`);
      return res.body.done ? res.body : undefined;
    }, 'the cancellation');
    expect(op.error.message).toContain('cancelled');
    expect(op.metadata).toMatchObject({ cancelledCount: 3, succeededCount: 0, failedCount: 0 });
    expect(startsIn(job.out)).toEqual(['t0-a0']);
    const again = await api(cloud, 'POST', `/v2/${execution}:cancel`, {});
    expect(again.body.error.status).toBe('FAILED_PRECONDITION');
    expect((await api(cloud, 'DELETE', `/v2/${execution}`)).status).toBe(200);
    expect((await api(cloud, 'GET', `/v2/${execution}`)).status).toBe(404);
  });

  it('refuses to run a job that does not exist with 404 NOT_FOUND', async () => {
    const res = await api(cloud, 'POST', `${J}/nope:run`, {});
    expect(res.status).toBe(404);
    expect(res.body.error.status).toBe('NOT_FOUND');
  });
});

describe('Cloud Run jobs across a restart', () => {
  it('re-runs the interrupted attempt of an unfinished execution after a restart', async () => {
    const own = tempDir();
    const out = join(own, 'out');
    mkdirSync(out);
    const ownScript = writeJobScript(own);
    const first = await startCloud(join(own, 'data'), { jobCommands: [['node', ownScript]] });
    try {
      await api(first, 'POST', `${J}?jobId=resumable`, {
        template: {
          template: {
            maxRetries: 1,
            containers: [
              {
                command: ['node', ownScript],
                env: [
                  { name: 'MODE', value: 'wait-for-allow' },
                  { name: 'OUT_DIR', value: out },
                ],
              },
            ],
          },
        },
      });
      const started = await api(first, 'POST', `${J}/resumable:run`, {});
      await waitFor(() => (startsIn(out).length > 0 ? true : undefined), 'the first attempt');
      await first.stop();
      writeFileSync(join(out, 'allow'), '');
      const second = await startCloud(join(own, 'data'), { jobCommands: [['node', ownScript]] });
      try {
        const op = await waitFor(async () => {
          const res = await api(second, 'GET', `/v2/${started.body.name}`);
          return res.body.done ? res.body : undefined;
        }, 'the resumed execution');
        expect(op.response).toMatchObject({ succeededCount: 1, failedCount: 0 });
        expect(startsIn(out)).toEqual(['t0-a0', 't0-a0']);
      } finally {
        await second.stop();
      }
    } finally {
      await first.stop();
      removeDir(own);
    }
  });
});

describe('a cancel that a shutdown follows', () => {
  it('ends the execution cancelled at the stop; the next start does not run it again', async () => {
    const own = tempDir();
    const ownScript = writeJobScript(own);
    const first = await startCloud(join(own, 'data'), { jobCommands: [['node', ownScript]] });
    try {
      // The task ignores the cancel's SIGTERM: it is still running when the stop comes.
      const out = await createScriptJob(first, {
        project: 'p1',
        region: 'us-central1',
        id: 'cancelled-then-stopped',
        dir: own,
        script: ownScript,
        env: { MODE: 'ignore-term' },
        maxRetries: 1,
      });
      const started = await api(first, 'POST', `${J}/cancelled-then-stopped:run`, {});
      const execution = started.body.metadata.name;
      await waitFor(() => (startsIn(out).length > 0 ? true : undefined), 'the first attempt');
      const cancelled = await api(first, 'POST', `/v2/${execution}:cancel`, {});
      expect(cancelled.status, JSON.stringify(cancelled)).toBe(200);
      await waitFor(() => (existsSync(join(out, 'got-sigterm')) ? true : undefined), 'SIGTERM');
      await first.stop();
      const second = await startCloud(join(own, 'data'), { jobCommands: [['node', ownScript]] });
      try {
        const op = await waitFor(async () => {
          const res = await api(second, 'GET', `/v2/${started.body.name}`);
          return res.body.done ? res.body : undefined;
        }, 'the execution to be over');
        expect(op.error.message).toContain('cancelled');
        expect(op.metadata).toMatchObject({ cancelledCount: 1, succeededCount: 0 });
        const tasks = await api(second, 'GET', `/v2/${execution}/tasks`);
        expect(tasks.body.tasks).toHaveLength(1);
        expect(tasks.body.tasks[0]).toMatchObject({
          reconciling: false,
          conditions: [{ type: 'Completed', executionReason: 'CANCELLED' }],
        });
        expect(startsIn(out)).toEqual(['t0-a0']);
      } finally {
        await second.stop();
      }
    } finally {
      await first.stop();
      removeDir(own);
    }
  });
});

describe('Cloud Run job failures outside the program', () => {
  it('fails a task whose command cannot be started, naming the spawn error', async () => {
    const own = tempDir();
    const cloud2 = await startCloud(join(own, 'data'), {
      jobCommands: [['/nonexistent/binary']],
    });
    try {
      await api(cloud2, 'POST', `${J}?jobId=missing-binary`, {
        template: {
          template: { maxRetries: 0, containers: [{ command: ['/nonexistent/binary'] }] },
        },
      });
      const started = await api(cloud2, 'POST', `${J}/missing-binary:run`, {});
      const op = await api(cloud2, 'POST', `/v2/${started.body.name}:wait`, { timeout: '30s' });
      expect(op.body.done).toBe(true);
      expect(op.body.error.message).toContain('ENOENT');
    } finally {
      await cloud2.stop();
      removeDir(own);
    }
  });
});
