/**
 * A row left in local-cloud.db by an older version or a crash cannot keep
 * local-cloud from starting (docs/security.md, "Local stack"): a job
 * execution of 1,000,000 tasks — which once froze it at every start — and
 * rows whose JSON cannot be read are set aside with an error log, and
 * everything else starts as usual.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db.ts';
import type { RunningLocalCloud } from '../src/server.ts';
import {
  api,
  PARENT,
  removeDir,
  startCloud,
  startTarget,
  type Target,
  tempDir,
  waitFor,
} from './helpers.ts';
import { writeJobScript } from './job-script.ts';

let dir: string;
let data: string;
let out: string;
let script: string;
let target: Target;
let cloud: RunningLocalCloud | undefined;
const JOB = `${PARENT}/jobs/processor`;
const QUEUE = `${PARENT}/queues/q`;
const HUGE = `${JOB}/executions/processor-huge`;

beforeAll(async () => {
  dir = tempDir();
  data = join(dir, 'data');
  out = join(dir, 'out');
  mkdirSync(out);
  script = writeJobScript(dir);
  target = await startTarget();
  // A database as an older local-cloud left it: a job, a queue, and then the poisoned rows.
  const first = await startCloud(data, { jobCommands: [['node', script]] });
  try {
    const job = await api(first, 'POST', `/v2/${PARENT}/jobs?jobId=processor`, {
      template: {
        template: {
          maxRetries: 0,
          containers: [
            {
              command: ['node', script],
              env: [
                { name: 'MODE', value: 'ok' },
                { name: 'OUT_DIR', value: out },
              ],
            },
          ],
        },
      },
    });
    expect(job.status, JSON.stringify(job)).toBe(200);
    expect((await api(first, 'POST', `/v2/${PARENT}/queues`, { name: QUEUE })).status).toBe(200);
    await api(first, 'POST', `/v2/${QUEUE}:pause`);
  } finally {
    await first.stop();
  }
  const db = openDatabase(join(data, 'local-cloud.db'));
  try {
    const t = new Date().toISOString();
    const huge = {
      name: HUGE,
      uid: 'u',
      job: 'processor',
      createTime: t,
      updateTime: t,
      launchStage: 'GA',
      parallelism: 0,
      taskCount: 1_000_000,
      template: {
        maxRetries: 0,
        timeout: '600s',
        containers: [
          {
            command: ['node', script],
            env: [
              { name: 'MODE', value: 'ok' },
              { name: 'OUT_DIR', value: out },
            ],
          },
        ],
      },
      reconciling: false,
      conditions: [{ type: 'Completed', state: 'CONDITION_PENDING', lastTransitionTime: t }],
      runningCount: 0,
      succeededCount: 0,
      failedCount: 0,
      cancelledCount: 0,
      retriedCount: 0,
      etag: 'e',
    };
    const putExecution = db.prepare(
      'INSERT INTO job_executions (name, job, seq, done, data) VALUES (?, ?, ?, 0, ?)',
    );
    putExecution.run(HUGE, JOB, 1, JSON.stringify(huge));
    putExecution.run(`${JOB}/executions/processor-torn`, JOB, 2, '{"name": "torn');
    db.prepare(
      "INSERT INTO executions (name, workflow, seq, state, data) VALUES (?, ?, 1, 'ACTIVE', ?)",
    ).run(`${PARENT}/workflows/w/executions/torn`, `${PARENT}/workflows/w`, '{not json');
    db.prepare(
      'INSERT INTO tasks (name, queue, seq, schedule_ms, data) VALUES (?, ?, 1, 0, ?)',
    ).run(`${QUEUE}/tasks/torn`, QUEUE, '[[[');
  } finally {
    db.close();
  }
});
afterAll(async () => {
  await cloud?.stop();
  await target.close();
  removeDir(dir);
});

describe('poisoned rows in local-cloud.db', () => {
  it('do not block the start: local-cloud answers at once and runs none of the huge execution', async () => {
    cloud = await startCloud(data, { jobCommands: [['node', script]], maxRunningTasks: 1 });
    const queues = await api(cloud, 'GET', `/v2/${PARENT}/queues`);
    expect(queues.status).toBe(200);
    const huge = await api(cloud, 'GET', `/v2/${HUGE}`);
    expect(huge.body.completionTime, JSON.stringify(huge.body)).toBeTypeOf('string');
    expect(huge.body.conditions).toContainEqual(
      expect.objectContaining({
        type: 'Completed',
        state: 'CONDITION_FAILED',
        message: expect.stringContaining('taskCount 1000000 is outside [1, 10000]'),
      }),
    );
    expect(existsSync(join(out, 'starts'))).toBe(false);
  });

  it('sets an unreadable job execution, workflow execution and task aside, and keeps serving', async () => {
    if (!cloud) throw new Error('the previous test starts local-cloud');
    const db = openDatabase(join(data, 'local-cloud.db'));
    try {
      const state = db
        .prepare<[string], { state: string }>('SELECT state FROM executions WHERE name = ?')
        .get(`${PARENT}/workflows/w/executions/torn`);
      expect(state?.state).toBe('FAILED');
      const done = db
        .prepare<[string], { done: number }>('SELECT done FROM job_executions WHERE name = ?')
        .get(`${JOB}/executions/processor-torn`);
      expect(done?.done).toBe(1);
    } finally {
      db.close();
    }
    const job = await api(cloud, 'POST', `/v2/${JOB}:run`, {});
    expect(job.status, JSON.stringify(job)).toBe(200);
    const op = await waitFor(async () => {
      const res = await api(cloud!, 'GET', `/v2/${job.body.name}`);
      return res.body.done ? res.body : undefined;
    }, 'a new execution of the same job');
    expect(op.response).toMatchObject({ succeededCount: 1 });
    await api(cloud, 'POST', `/v2/${QUEUE}:resume`);
    const created = await api(cloud, 'POST', `/v2/${QUEUE}/tasks`, {
      task: { httpRequest: { url: `${target.url}/after` } },
    });
    expect(created.status).toBe(200);
    await waitFor(
      () => target.received.find((r) => r.url === '/after'),
      'a task in the queue of the unreadable one',
    );
    expect((await api(cloud, 'GET', `/v2/${QUEUE}/tasks/torn`)).status).toBe(404);
  });
});
