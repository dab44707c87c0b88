/**
 * The Cloud Run Admin API v1 surface gcloud uses
 * (https://cloud.google.com/run/docs/reference/rest/v1/namespaces.jobs,
 * …/namespaces.executions, …/namespaces.tasks), called as gcloud calls it:
 * in proxy form, on the regional host `us-central1-localhost`
 * (helpers.ts apiViaProxy). Jobs created through v2 are read and run
 * through v1 and the other way round; runs honour v1 overrides; lists filter
 * with label selectors; cancel ends with the reason gcloud waits for.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningLocalCloud } from '../src/server.ts';
import { api, apiViaProxy, removeDir, startCloud, tempDir, waitFor } from './helpers.ts';
import { createScriptJob, startsIn, writeJobScript } from './job-script.ts';

const PROJECT = 'p1';
const REGION = 'us-central1';
const NS = `/apis/run.googleapis.com/v1/namespaces/${PROJECT}`;
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

const v1 = (method: string, path: string, body?: unknown) =>
  apiViaProxy(cloud, REGION, method, `${NS}${path}`, body);

/** A job running the test script, created over v2 REST as the local stack creates the processor job. */
const createV2Job = (id: string, env: Record<string, string>, taskCount = 1): Promise<string> =>
  createScriptJob(cloud, {
    project: PROJECT,
    region: REGION,
    id,
    dir,
    script,
    env,
    taskCount,
    labels: { team: 'images' },
  });

// biome-ignore lint/suspicious/noExplicitAny: Google JSON.
async function finished(execution: string): Promise<any> {
  return waitFor(async () => {
    const res = await v1('GET', `/executions/${execution}`);
    const completed = res.body.status.conditions.find(
      (c: { type: string }) => c.type === 'Completed',
    );
    return completed?.status !== 'Unknown' ? res.body : undefined;
  }, `execution ${execution} to end`);
}

describe('jobs', () => {
  it('describes a v2 job as a v1 Job: names, labels, spec and a Ready condition', async () => {
    await createV2Job('described', { MODE: 'ok' }, 2);
    const res = await v1('GET', '/jobs/described');
    expect(res, JSON.stringify(res)).toMatchObject({
      status: 200,
      body: {
        apiVersion: 'run.googleapis.com/v1',
        kind: 'Job',
        metadata: {
          name: 'described',
          namespace: PROJECT,
          generation: 1,
          labels: { team: 'images', 'cloud.googleapis.com/location': REGION },
        },
        spec: {
          template: {
            spec: {
              taskCount: 2,
              template: {
                spec: {
                  maxRetries: 0,
                  timeoutSeconds: '120',
                  containers: [{ image: 'local/test-job', command: ['node', script] }],
                },
              },
            },
          },
        },
        status: {
          observedGeneration: 1,
          executionCount: 0,
          conditions: [{ type: 'Ready', status: 'True' }],
        },
      },
    });
  });

  it('lists the region’s jobs on the regional host and every region’s on the bare host', async () => {
    await createV2Job('listed', { MODE: 'ok' });
    await api(
      cloud,
      'POST',
      `/v2/projects/${PROJECT}/locations/europe-west1/jobs?jobId=elsewhere`,
      {
        template: { template: { containers: [{ image: 'x', command: ['node', script] }] } },
      },
    );
    const names = (res: { body: { items: { metadata: { name: string } }[] } }) =>
      res.body.items.map((j) => j.metadata.name);
    const regional = await v1('GET', '/jobs');
    expect(regional.body.kind).toBe('JobsList');
    expect(names(regional)).toContain('listed');
    expect(names(regional)).not.toContain('elsewhere');
    const everywhere = await apiViaProxy(cloud, undefined, 'GET', `${NS}/jobs`);
    expect(names(everywhere)).toEqual(expect.arrayContaining(['listed', 'elsewhere']));
    const paged = await v1('GET', '/jobs?limit=1');
    expect(paged.body.items).toHaveLength(1);
    expect(paged.body.metadata.continue).toBeTypeOf('string');
  });

  it('answers a missing job with 404 in Google’s v1 wording', async () => {
    const res = await v1('GET', '/jobs/nowhere');
    expect(res, JSON.stringify(res)).toMatchObject({
      status: 404,
      body: {
        error: {
          status: 'NOT_FOUND',
          message: `Resource 'nowhere' of kind 'JOB' in region '${REGION}' in project '${PROJECT}' does not exist.`,
        },
      },
    });
  });

  it('creates, replaces and deletes a job through v1, and v2 sees the same job', async () => {
    const v1Job = (taskCount: number) => ({
      apiVersion: 'run.googleapis.com/v1',
      kind: 'Job',
      metadata: { name: 'made-by-v1', labels: { owner: 'ops', 'client.knative.dev/nonce': 'x' } },
      spec: {
        template: {
          spec: {
            taskCount,
            template: {
              spec: {
                maxRetries: 2,
                timeoutSeconds: '30',
                containers: [
                  {
                    image: 'local/test-job',
                    command: ['node', script],
                    env: [
                      { name: 'MODE', value: 'ok' },
                      { name: 'OUT_DIR', value: dir },
                    ],
                  },
                ],
              },
            },
          },
        },
      },
    });
    const created = await v1('POST', '/jobs', v1Job(2));
    expect(created, JSON.stringify(created)).toMatchObject({
      status: 200,
      body: { metadata: { name: 'made-by-v1', generation: 1 } },
    });
    const replaced = await v1('PUT', '/jobs/made-by-v1', v1Job(3));
    expect(replaced.body.metadata.generation).toBe(2);
    const seen = await api(
      cloud,
      'GET',
      `/v2/projects/${PROJECT}/locations/${REGION}/jobs/made-by-v1`,
    );
    expect(seen.body).toMatchObject({
      generation: '2',
      labels: { owner: 'ops' },
      template: { taskCount: 3, template: { maxRetries: 2, timeout: '30s' } },
    });
    expect(seen.body.labels['client.knative.dev/nonce']).toBeUndefined();
    const gone = await v1('DELETE', '/jobs/made-by-v1');
    expect(gone, JSON.stringify(gone)).toMatchObject({ status: 200, body: { status: 'Success' } });
    expect((await v1('GET', '/jobs/made-by-v1')).status).toBe(404);
  });

  it('refuses a v1 job whose command line is not registered, and stores nothing', async () => {
    const res = await v1('POST', '/jobs', {
      metadata: { name: 'shell' },
      spec: {
        template: {
          spec: {
            template: { spec: { containers: [{ image: 'x', command: ['sh', '-c', 'id'] }] } },
          },
        },
      },
    });
    expect(res.status, JSON.stringify(res)).toBe(403);
    expect((await v1('GET', '/jobs/shell')).status).toBe(404);
  });

  it('refuses writes on the bare host, which names no region', async () => {
    await createV2Job('no-region', { MODE: 'ok' });
    const res = await apiViaProxy(cloud, undefined, 'POST', `${NS}/jobs/no-region:run`, {});
    expect(res, JSON.stringify(res)).toMatchObject({
      status: 400,
      body: { error: { status: 'INVALID_ARGUMENT' } },
    });
    expect(res.body.error.message).toContain('needs a region');
  });
});

describe('executions', () => {
  it('runs a job with v1 overrides (env, taskCount, timeoutSeconds) and returns the v1 Execution', async () => {
    const out = await createV2Job('overridden', { MODE: 'ok', GREETING: 'hello' });
    const started = await v1('POST', '/jobs/overridden:run', {
      overrides: {
        containerOverrides: [{ env: [{ name: 'GREETING', value: 'bonjour' }], clearArgs: false }],
        taskCount: 3,
        timeoutSeconds: 45,
      },
    });
    expect(started, JSON.stringify(started)).toMatchObject({
      status: 200,
      body: {
        kind: 'Execution',
        metadata: {
          namespace: PROJECT,
          labels: {
            'run.googleapis.com/job': 'overridden',
            'cloud.googleapis.com/location': REGION,
          },
        },
        spec: { taskCount: 3, template: { spec: { timeoutSeconds: '45' } } },
      },
    });
    const name = started.body.metadata.name;
    expect(name).toMatch(/^overridden-[a-z0-9]{5}$/);
    const done = await finished(name);
    expect(done.status).toMatchObject({ succeededCount: 3, failedCount: 0, observedGeneration: 1 });
    expect(
      done.status.conditions.map((c: { type: string; status: string }) => [c.type, c.status]),
    ).toEqual([
      ['ResourcesAvailable', 'True'],
      ['Started', 'True'],
      ['Completed', 'True'],
    ]);
    expect(done.status.logUri).toContain(name);
    expect(startsIn(out).sort()).toEqual(['t0-a0', 't1-a0', 't2-a0']);
    const env = JSON.parse(readFileSync(join(out, 't0-a0.json'), 'utf8'));
    expect(env).toMatchObject({ GREETING: 'bonjour', CLOUD_RUN_TASK_COUNT: '3' });
    const job = await v1('GET', '/jobs/overridden');
    expect(job.body.status).toMatchObject({
      executionCount: 1,
      latestCreatedExecution: { name, completionStatus: 'EXECUTION_SUCCEEDED' },
    });
  });

  it('refuses v1 overrides that change args, as for v2', async () => {
    await createV2Job('no-args', { MODE: 'ok' });
    const res = await v1('POST', '/jobs/no-args:run', {
      overrides: { containerOverrides: [{ args: ['--evil'] }] },
    });
    expect(res.status, JSON.stringify(res)).toBe(400);
  });

  it('lists one job’s executions by label selector, newest first, and describes one', async () => {
    await createV2Job('listed-runs', { MODE: 'ok' });
    await createV2Job('other-runs', { MODE: 'ok' });
    const first = (await v1('POST', '/jobs/listed-runs:run', {})).body.metadata.name;
    const second = (await v1('POST', '/jobs/listed-runs:run', {})).body.metadata.name;
    await v1('POST', '/jobs/other-runs:run', {});
    const selector = encodeURIComponent('run.googleapis.com/job = listed-runs');
    const listed = await v1('GET', `/executions?labelSelector=${selector}`);
    expect(listed.body.kind).toBe('ExecutionsList');
    expect(listed.body.items.map((e: { metadata: { name: string } }) => e.metadata.name)).toEqual([
      second,
      first,
    ]);
    const described = await v1('GET', `/executions/${first}`);
    expect(described.body.metadata).toMatchObject({ name: first, labels: { team: 'images' } });
    await finished(first);
    await finished(second);
  });

  it('cancels a running execution: Completed False with reason Cancelled, tasks Cancelled', async () => {
    const out = await createV2Job('cancelled', { MODE: 'wait-for-allow' }, 2);
    const name = (await v1('POST', '/jobs/cancelled:run', {})).body.metadata.name;
    await waitFor(() => (startsIn(out).length === 2 ? true : undefined), 'both tasks to start');
    const cancelled = await v1('POST', `/executions/${name}:cancel`, {});
    expect(cancelled, JSON.stringify(cancelled)).toMatchObject({
      status: 200,
      body: { metadata: { name } },
    });
    const done = await finished(name);
    writeFileSync(join(out, 'allow'), '');
    expect(done.status.conditions.at(-1)).toMatchObject({
      type: 'Completed',
      status: 'False',
      reason: 'Cancelled',
    });
    expect(done.status.cancelledCount).toBe(2);
    const again = await v1('POST', `/executions/${name}:cancel`, {});
    expect(again.body.error?.status, JSON.stringify(again)).toBe('FAILED_PRECONDITION');
    const deletedRun = await v1('DELETE', `/executions/${name}`);
    expect(deletedRun.body).toMatchObject({ status: 'Success' });
    expect((await v1('GET', `/executions/${name}`)).status).toBe(404);
  });
});

describe('long names', () => {
  it('finds the execution and tasks of a job whose id has the full 63 characters', async () => {
    const id = `j${'x'.repeat(61)}z`;
    await createV2Job(id, { MODE: 'ok' });
    const name = (await v1('POST', `/jobs/${id}:run`, {})).body.metadata.name;
    expect(name.length).toBeGreaterThan(63);
    await finished(name);
    const task = await v1('GET', `/tasks/${name}-task0`);
    expect(task, JSON.stringify(task)).toMatchObject({
      status: 200,
      body: { metadata: { labels: { 'run.googleapis.com/runningState': 'Succeeded' } } },
    });
  });
});

describe('tasks', () => {
  it('lists an execution’s tasks with their running state, filters by state, and gets one', async () => {
    await createV2Job('tasked', { MODE: 'fail-until', SUCCEED_AT: '1' }, 2);
    const name = (await v1('POST', '/jobs/tasked:run', {})).body.metadata.name;
    await finished(name);
    const selector = (extra = '') =>
      encodeURIComponent(`run.googleapis.com/execution = ${name}${extra}`);
    const all = await v1('GET', `/tasks?labelSelector=${selector()}`);
    expect(all.body.kind).toBe('TasksList');
    expect(all.body.items).toHaveLength(2);
    expect(all.body.items[0]).toMatchObject({
      kind: 'Task',
      metadata: {
        name: `${name}-task0`,
        labels: {
          'run.googleapis.com/execution': name,
          'run.googleapis.com/runningState': 'Failed',
          'run.googleapis.com/job': 'tasked',
        },
      },
      spec: { maxRetries: 0 },
      status: { index: 0, retried: 0, lastAttemptResult: { exitCode: 3 } },
    });
    const succeeded = await v1(
      'GET',
      `/tasks?labelSelector=${selector(',run.googleapis.com/runningState in (Succeeded,Running)')}`,
    );
    expect(succeeded.body.items).toEqual([]);
    const one = await v1('GET', `/tasks/${name}-task1`);
    expect(one.body).toEqual(all.body.items[1]);
    expect((await v1('GET', `/tasks/${name}-task2`)).status).toBe(404);
  });

  it('asks for the execution when a task list names none', async () => {
    const res = await v1('GET', '/tasks');
    expect(res.status, JSON.stringify(res)).toBe(400);
    expect(res.body.error.message).toContain('run.googleapis.com/execution');
  });
});
