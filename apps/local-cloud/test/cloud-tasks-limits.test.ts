/**
 * Cloud Tasks limits and resource details as Google documents them, through
 * the HTTP API of a local-cloud with Google's values (no test shortcuts):
 * dispatchDeadline in [15 s, 30 min] (Task reference), task size up to 1MB
 * (quotas page), scheduleTime at most 30 days ahead and a past one stored as
 * now (CreateTask, quotas), a body only on POST, PUT and PATCH tasks
 * (HttpRequest.body), createTime truncated to the second (Task
 * reference), tasks.run answering with the task as dispatched (RunTask), and
 * a deleted queue's name refused with Google's FAILED_PRECONDITION (quotas,
 * "Queue re-creation").
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LIMITS } from '../src/limits.ts';
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

const Q = `/v2/${PARENT}/queues`;
const DAY_MS = 86_400_000;
let dir: string;
let cloud: RunningLocalCloud;
let target: Target;
let queueSeq = 0;

beforeAll(async () => {
  dir = tempDir();
  cloud = await startCloud(dir);
});
afterAll(async () => {
  await cloud.stop();
  removeDir(dir);
});
beforeEach(async () => {
  target = await startTarget();
});
afterEach(async () => {
  await target.close();
});

/** A paused queue (tasks stay put, so a test reads them as created). */
async function heldQueue(): Promise<string> {
  const name = `${PARENT}/queues/limits-${++queueSeq}`;
  const res = await api(cloud, 'POST', Q, { name, state: 'PAUSED' });
  expect(res, JSON.stringify(res)).toMatchObject({ status: 200 });
  return name;
}

function create(queue: string, task: Record<string, unknown>) {
  return api(cloud, 'POST', `/v2/${queue}/tasks`, {
    task: { httpRequest: { url: `${target.url}/work`, httpMethod: 'POST' }, ...task },
  });
}

describe('dispatchDeadline', () => {
  it('accepts 15 s and 30 min, defaults to 10 min, and refuses 14.999 s and 30 min + 1 s', async () => {
    const queue = await heldQueue();
    const accepted = [];
    for (const deadline of ['15s', '1800s', undefined]) {
      const res = await create(queue, deadline ? { dispatchDeadline: deadline } : {});
      expect(res, JSON.stringify(res)).toMatchObject({ status: 200 });
      accepted.push(res.body.dispatchDeadline);
    }
    expect(accepted).toEqual(['15s', '1800s', '600s']);
    for (const deadline of ['14.999s', '1801s', '0s']) {
      const res = await create(queue, { dispatchDeadline: deadline });
      expect(res, JSON.stringify(res)).toMatchObject({
        status: 400,
        body: { error: { status: 'INVALID_ARGUMENT' } },
      });
      expect(res.body.error.message).toContain('[15s, 1800s]');
    }
  });
});

describe('task size', () => {
  it('accepts a task of 1MB (url, headers and body) and refuses one byte more', async () => {
    const queue = await heldQueue();
    const url = `${target.url}/work`;
    const headers = { 'content-type': 'application/octet-stream' };
    const headerBytes = 'content-type'.length + 'application/octet-stream'.length;
    const fits = LIMITS.taskBytes - Buffer.byteLength(url) - headerBytes;
    const body = (n: number) => Buffer.alloc(n, 7).toString('base64');
    const ok = await create(queue, { httpRequest: { url, headers, body: body(fits) } });
    expect(ok.status, JSON.stringify(ok.body).slice(0, 300)).toBe(200);
    expect(fits).toBeGreaterThan(100 * 1024);
    const over = await create(queue, { httpRequest: { url, headers, body: body(fits + 1) } });
    expect(over, JSON.stringify(over)).toMatchObject({
      status: 400,
      body: {
        error: {
          status: 'INVALID_ARGUMENT',
          message: `Task size is ${LIMITS.taskBytes + 1} bytes (url, headers and body); the maximum task size is 1MB (1000000 bytes).`,
        },
      },
    });
  });
});

describe('task body and HTTP method', () => {
  it.each(['GET', 'HEAD', 'DELETE', 'OPTIONS', 2])(
    'refuses a body on a %s task (only POST, PUT and PATCH may carry one)',
    async (httpMethod) => {
      const queue = await heldQueue();
      const res = await api(cloud, 'POST', `/v2/${queue}/tasks`, {
        task: { httpRequest: { url: `${target.url}/x`, httpMethod, body: 'aGk=' } },
      });
      expect(res, JSON.stringify(res)).toMatchObject({
        status: 400,
        body: { error: { status: 'INVALID_ARGUMENT' } },
      });
    },
  );

  it('accepts a body on POST, PUT and PATCH tasks, and a GET task without one', async () => {
    const queue = await heldQueue();
    for (const httpMethod of ['POST', 'PUT', 'PATCH']) {
      const res = await api(cloud, 'POST', `/v2/${queue}/tasks`, {
        task: { httpRequest: { url: `${target.url}/x`, httpMethod, body: 'aGk=' } },
        responseView: 'FULL',
      });
      expect(res, JSON.stringify(res)).toMatchObject({
        status: 200,
        body: { httpRequest: { httpMethod, body: 'aGk=' } },
      });
    }
    const get = await api(cloud, 'POST', `/v2/${queue}/tasks`, {
      task: { httpRequest: { url: `${target.url}/x`, httpMethod: 'GET', body: '' } },
    });
    expect(get, JSON.stringify(get)).toMatchObject({ status: 200 });
  });
});

describe('scheduleTime and createTime', () => {
  it('refuses a scheduleTime without a zone or that is no timestamp, 400 INVALID_ARGUMENT, and reads an offset (before: local time, "5" as 2001)', async () => {
    const queue = await heldQueue();
    for (const scheduleTime of ['2026-12-07T21:33:36', '5', '2026-02-30T00:00:00Z']) {
      const res = await create(queue, { scheduleTime });
      expect(res, JSON.stringify(res)).toMatchObject({
        status: 400,
        body: { error: { status: 'INVALID_ARGUMENT' } },
      });
      expect(res.body.error.message).toContain('scheduleTime');
    }
    const at = Math.floor(Date.now() / 1000) * 1000 + DAY_MS;
    const plus2 = new Date(at + 2 * 3_600_000).toISOString().replace('Z', '+02:00');
    const res = await create(queue, { scheduleTime: plus2 });
    expect(res, JSON.stringify(res)).toMatchObject({ status: 200 });
    expect(Date.parse(res.body.scheduleTime)).toBe(at);
  });

  it('refuses a dispatchDeadline or a queue backoff without its "s" or negative, 400 INVALID_ARGUMENT', async () => {
    const queue = await heldQueue();
    for (const dispatchDeadline of ['60', '-5s', 60]) {
      const res = await create(queue, { dispatchDeadline });
      expect(res, JSON.stringify(res)).toMatchObject({
        status: 400,
        body: { error: { status: 'INVALID_ARGUMENT' } },
      });
    }
    for (const minBackoff of ['10', '-5s']) {
      const res = await api(cloud, 'POST', Q, {
        name: `${PARENT}/queues/limits-${++queueSeq}`,
        retryConfig: { minBackoff },
      });
      expect(res, JSON.stringify(res)).toMatchObject({
        status: 400,
        body: { error: { status: 'INVALID_ARGUMENT' } },
      });
    }
  });

  it('refuses a scheduleTime more than 30 days ahead and accepts one just inside', async () => {
    const queue = await heldQueue();
    const far = await create(queue, {
      scheduleTime: new Date(Date.now() + 31 * DAY_MS).toISOString(),
    });
    expect(far, JSON.stringify(far)).toMatchObject({
      status: 400,
      body: { error: { status: 'INVALID_ARGUMENT' } },
    });
    expect(far.body.error.message).toContain('more than 30 days in the future');
    const inside = new Date(Date.now() + 29 * DAY_MS).toISOString();
    const near = await create(queue, { scheduleTime: inside });
    expect(near, JSON.stringify(near)).toMatchObject({
      status: 200,
      body: { scheduleTime: inside },
    });
  });

  it('stores a past scheduleTime as the time of creation', async () => {
    const queue = await heldQueue();
    const before = Date.now();
    const res = await create(queue, { scheduleTime: '2001-01-01T00:00:00Z' });
    const after = Date.now();
    expect(res.status, JSON.stringify(res)).toBe(200);
    const stored = Date.parse(res.body.scheduleTime);
    expect(stored).toBeGreaterThanOrEqual(before);
    expect(stored).toBeLessThanOrEqual(after);
    const got = await api(cloud, 'GET', `/v2/${res.body.name}`);
    expect(got.body.scheduleTime).toBe(res.body.scheduleTime);
  });

  it('truncates createTime to the second', async () => {
    const queue = await heldQueue();
    const before = Math.floor(Date.now() / 1000) * 1000;
    const res = await create(queue, {});
    expect(res.body.createTime, JSON.stringify(res.body)).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/,
    );
    expect(Date.parse(res.body.createTime)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(res.body.createTime)).toBeLessThanOrEqual(Date.now());
  });
});

describe('tasks.run', () => {
  it('answers with the task as dispatched (dispatchCount 1, an attempt without a response yet)', async () => {
    const queue = await heldQueue();
    let release: (status: number) => void = () => {};
    target.respond = () => new Promise((resolve) => (release = resolve));
    const created = await create(queue, {});
    expect(created.body.dispatchCount).toBe(0);
    const ran = await api(cloud, 'POST', `/v2/${created.body.name}:run`, {});
    expect(ran, JSON.stringify(ran)).toMatchObject({
      status: 200,
      body: { name: created.body.name, dispatchCount: 1, responseCount: 0 },
    });
    expect(ran.body.lastAttempt.dispatchTime).toBeTypeOf('string');
    expect(ran.body.lastAttempt.responseTime).toBeUndefined();
    expect(ran.body.lastAttempt.responseStatus).toBeUndefined();
    expect(ran.body.firstAttempt).toEqual(ran.body.lastAttempt);
    await waitFor(() => target.received[0], 'the forced dispatch to arrive');
    release(200);
    await waitFor(
      async () =>
        (await api(cloud, 'GET', `/v2/${created.body.name}`)).status === 404 ? true : undefined,
      'the task to be deleted after its success',
    );
    const again = await api(cloud, 'POST', `/v2/${created.body.name}:run`, {});
    expect(again.body.error?.status, JSON.stringify(again)).toBe('NOT_FOUND');
  });
});

describe('queue name reuse', () => {
  it('refuses to create a deleted queue again, by create and by patch, with Google’s FAILED_PRECONDITION', async () => {
    const queue = await heldQueue();
    expect((await api(cloud, 'DELETE', `/v2/${queue}`)).status).toBe(200);
    const refusal = {
      status: 400,
      body: {
        error: {
          status: 'FAILED_PRECONDITION',
          message:
            'The queue cannot be created because a queue with this name existed too recently.',
        },
      },
    };
    const created = await api(cloud, 'POST', Q, { name: queue });
    expect(created, JSON.stringify(created)).toMatchObject(refusal);
    const patched = await api(cloud, 'PATCH', `/v2/${queue}`, { retryConfig: { maxAttempts: 2 } });
    expect(patched, JSON.stringify(patched)).toMatchObject(refusal);
    expect((await api(cloud, 'GET', `/v2/${queue}`)).status).toBe(404);
  });

  it('keeps refusing the name after a restart', async () => {
    const restartDir = tempDir();
    try {
      const first = await startCloud(restartDir);
      const name = `${first.parent}/queues/kept`;
      await api(first, 'POST', `/v2/${first.parent}/queues`, { name });
      await api(first, 'DELETE', `/v2/${name}`);
      await first.stop();
      const second = await startCloud(restartDir);
      try {
        const res = await api(second, 'POST', `/v2/${second.parent}/queues`, { name });
        expect(res.body.error?.status, JSON.stringify(res)).toBe('FAILED_PRECONDITION');
      } finally {
        await second.stop();
      }
    } finally {
      removeDir(restartDir);
    }
  });

  it('lets a name be reused at once when the local option sets the period to 0', async () => {
    const quickDir = tempDir();
    const quick = await startCloud(quickDir, { tasksRules: { queueTombstoneMs: 0 } });
    try {
      const name = `${quick.parent}/queues/reused`;
      await api(quick, 'POST', `/v2/${quick.parent}/queues`, { name });
      await api(quick, 'DELETE', `/v2/${name}`);
      const again = await api(quick, 'POST', `/v2/${quick.parent}/queues`, { name });
      expect(again, JSON.stringify(again)).toMatchObject({ status: 200, body: { name } });
    } finally {
      await quick.stop();
      removeDir(quickDir);
    }
  });
});
