import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
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
let dir: string;
let cloud: RunningLocalCloud;
let target: Target;
let queueSeq = 0;

beforeAll(async () => {
  dir = tempDir();
  // The deadline test needs a deadline that passes in a fraction of a second (Google's minimum is 15 s).
  cloud = await startCloud(dir, { tasksRules: { minDispatchDeadlineMs: 100 } });
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

async function newQueue(extra: Record<string, unknown> = {}): Promise<string> {
  const name = `${PARENT}/queues/q${++queueSeq}`;
  const res = await api(cloud, 'POST', Q, { name, ...extra });
  expect(res, JSON.stringify(res)).toMatchObject({ status: 200 });
  return name;
}

function task(queue: string, id: string | undefined, extra: Record<string, unknown> = {}) {
  return {
    task: {
      ...(id ? { name: `${queue}/tasks/${id}` } : {}),
      httpRequest: {
        url: `${target.url}/work`,
        httpMethod: 'POST',
        body: Buffer.from(JSON.stringify({ id })).toString('base64'),
        headers: { 'content-type': 'application/json' },
      },
      ...extra,
    },
  };
}

describe('Cloud Tasks queues', () => {
  it('creates a queue with Google’s defaults and returns it on get and list', async () => {
    const name = await newQueue();
    const got = await api(cloud, 'GET', `/v2/${name}`);
    expect(got.body).toMatchObject({
      name,
      state: 'RUNNING',
      rateLimits: { maxDispatchesPerSecond: 500, maxBurstSize: 100, maxConcurrentDispatches: 1000 },
      retryConfig: {
        maxAttempts: 100,
        minBackoff: '0.100s',
        maxBackoff: '3600s',
        maxDoublings: 16,
      },
    });
    const list = await api(cloud, 'GET', Q);
    expect(list.body.queues.map((q: { name: string }) => q.name)).toContain(name);
  });

  it('answers a second create of the same queue with 409 ALREADY_EXISTS in Google’s error shape', async () => {
    const name = await newQueue();
    const res = await api(cloud, 'POST', Q, { name });
    expect(res).toEqual({
      status: 409,
      body: { error: { code: 409, message: 'Queue already exists', status: 'ALREADY_EXISTS' } },
    });
  });

  it('patches only the fields named in updateMask and creates a missing queue on patch', async () => {
    const name = await newQueue({ retryConfig: { maxAttempts: 7 } });
    const patched = await api(
      cloud,
      'PATCH',
      `/v2/${name}?updateMask=rateLimits.maxDispatchesPerSecond`,
      { rateLimits: { maxDispatchesPerSecond: 10 }, retryConfig: { maxAttempts: 1 } },
    );
    expect(patched.body.rateLimits.maxDispatchesPerSecond).toBe(10);
    expect(patched.body.retryConfig.maxAttempts).toBe(7);
    const created = await api(cloud, 'PATCH', `${Q}/patched-new`, {
      retryConfig: { maxAttempts: 4 },
    });
    expect(created.body).toMatchObject({ name: `${PARENT}/queues/patched-new`, state: 'RUNNING' });
  });

  it('takes the snake_case updateMask paths the Node client sends, and refuses paths it cannot update', async () => {
    const name = await newQueue();
    // What CloudTasksClient.updateQueue (@google-cloud/tasks 7.1.0, REST fallback) sends for
    // updateMask {paths: ['rate_limits.max_dispatches_per_second', 'retry_config.max_attempts']}.
    const patched = await api(
      cloud,
      'PATCH',
      `/v2/${name}?updateMask=rate_limits.max_dispatches_per_second%2Cretry_config.max_attempts&$alt=json%3Benum-encoding=int`,
      { rateLimits: { maxDispatchesPerSecond: 2 }, retryConfig: { maxAttempts: 3 } },
    );
    expect(patched, JSON.stringify(patched)).toMatchObject({
      status: 200,
      body: { rateLimits: { maxDispatchesPerSecond: 2 }, retryConfig: { maxAttempts: 3 } },
    });
    for (const mask of ['rateLimits.maxDispatchesPerSecnd', 'state', 'name', 'bogus']) {
      const refused = await api(cloud, 'PATCH', `/v2/${name}?updateMask=${mask}`, {
        rateLimits: { maxDispatchesPerSecond: 9 },
        state: 'PAUSED',
      });
      expect(refused, JSON.stringify(refused)).toMatchObject({
        status: 400,
        body: { error: { status: 'INVALID_ARGUMENT' } },
      });
    }
    const got = await api(cloud, 'GET', `/v2/${name}`);
    expect(got.body).toMatchObject({ state: 'RUNNING', rateLimits: { maxDispatchesPerSecond: 2 } });
  });

  it('reads maxAttempts 0 as unspecified (the default, 100), -1 as unlimited, and refuses -2', async () => {
    const zero = await newQueue({ retryConfig: { maxAttempts: 0 } });
    expect((await api(cloud, 'GET', `/v2/${zero}`)).body.retryConfig.maxAttempts).toBe(100);
    const patched = await api(cloud, 'PATCH', `/v2/${zero}?updateMask=retryConfig.maxAttempts`, {
      retryConfig: { maxAttempts: -1 },
    });
    expect(patched.body.retryConfig.maxAttempts).toBe(-1);
    for (const maxAttempts of [-2, 1.5]) {
      const res = await api(cloud, 'PATCH', `/v2/${zero}?updateMask=retryConfig.maxAttempts`, {
        retryConfig: { maxAttempts },
      });
      expect(res, JSON.stringify(res)).toMatchObject({
        status: 400,
        body: { error: { status: 'INVALID_ARGUMENT' } },
      });
    }
  });

  it('pauses, resumes, purges and deletes, and says NOT_FOUND afterwards', async () => {
    const name = await newQueue();
    expect((await api(cloud, 'POST', `/v2/${name}:pause`)).body.state).toBe('PAUSED');
    await api(cloud, 'POST', `/v2/${name}/tasks`, task(name, 'a'));
    expect((await api(cloud, 'POST', `/v2/${name}:purge`)).body.purgeTime).toBeTypeOf('string');
    expect((await api(cloud, 'GET', `/v2/${name}/tasks`)).body.tasks).toEqual([]);
    expect((await api(cloud, 'POST', `/v2/${name}:resume`)).body.state).toBe('RUNNING');
    expect((await api(cloud, 'DELETE', `/v2/${name}`)).status).toBe(200);
    const gone = await api(cloud, 'GET', `/v2/${name}`);
    expect(gone.status).toBe(404);
    expect(gone.body.error.status).toBe('NOT_FOUND');
  });
});

describe('Cloud Tasks tasks', () => {
  it('dispatches a task with its method, headers, body and the local OIDC token', async () => {
    const name = await newQueue();
    const body = task(name, 'one');
    Object.assign(body.task.httpRequest, { oidcToken: { serviceAccountEmail: 'sa@p1.iam' } });
    const created = await api(cloud, 'POST', `/v2/${name}/tasks`, body);
    expect(created.body).toMatchObject({
      name: `${name}/tasks/one`,
      dispatchCount: 0,
      view: 'BASIC',
    });
    const got = await waitFor(() => target.received[0], 'the dispatch');
    expect(got.method).toBe('POST');
    expect(JSON.parse(got.body)).toEqual({ id: 'one' });
    expect(got.headers.authorization).toBe(`Bearer ${cloud.oidcToken}`);
    expect(got.headers['x-cloudtasks-taskname']).toBe('one');
    expect(got.headers['x-cloudtasks-queuename']).toBe(name.split('/').pop());
    await waitFor(
      async () =>
        (await api(cloud, 'GET', `/v2/${name}/tasks/one`)).status === 404 ? true : undefined,
      'the task to be deleted after success',
    );
  });

  it('sends the local OIDC token for tasks with oidcToken', async () => {
    const name = await newQueue();
    const body = task(name, undefined);
    Object.assign(body.task.httpRequest, { oidcToken: { serviceAccountEmail: 'sa@p1.iam' } });
    await api(cloud, 'POST', `/v2/${name}/tasks`, body);
    const got = await waitFor(() => target.received[0], 'the dispatch');
    expect(got.headers.authorization).toBe('Bearer local-oidc-token-for-tests');
  });

  it('refuses a duplicate task name with 409, also after the task was deleted', async () => {
    const name = await newQueue();
    await api(cloud, 'POST', `/v2/${name}:pause`);
    expect((await api(cloud, 'POST', `/v2/${name}/tasks`, task(name, 'dup'))).status).toBe(200);
    const again = await api(cloud, 'POST', `/v2/${name}/tasks`, task(name, 'dup'));
    expect(again).toEqual({
      status: 409,
      body: {
        error: { code: 409, message: 'Requested entity already exists', status: 'ALREADY_EXISTS' },
      },
    });
    expect((await api(cloud, 'DELETE', `/v2/${name}/tasks/dup`)).status).toBe(200);
    const afterDelete = await api(cloud, 'POST', `/v2/${name}/tasks`, task(name, 'dup'));
    expect(afterDelete.status).toBe(409);
  });

  it('holds tasks in a paused queue and sends them after resume', async () => {
    const name = await newQueue();
    await api(cloud, 'POST', `/v2/${name}:pause`);
    await api(cloud, 'POST', `/v2/${name}/tasks`, task(name, 'held'));
    const listed = await api(cloud, 'GET', `/v2/${name}/tasks?responseView=FULL`);
    expect(listed.body.tasks).toHaveLength(1);
    expect(listed.body.tasks[0].httpRequest.body).toBeTypeOf('string');
    expect(target.received).toHaveLength(0);
    await api(cloud, 'POST', `/v2/${name}:resume`);
    await waitFor(() => target.received[0], 'the dispatch after resume');
  });

  it('does not send a task before its scheduleTime', async () => {
    const name = await newQueue();
    const later = new Date(Date.now() + 3_600_000).toISOString();
    await api(cloud, 'POST', `/v2/${name}/tasks`, task(name, 'later', { scheduleTime: later }));
    await api(cloud, 'POST', `/v2/${name}/tasks`, task(name, 'now'));
    await waitFor(() => target.received[0], 'the due task');
    // The due task is deleted once its response is in; the future one stays.
    const remaining = await waitFor(async () => {
      const res = await api(cloud, 'GET', `/v2/${name}/tasks`);
      return res.body.tasks.length === 1 ? res.body.tasks : undefined;
    }, 'the due task to finish');
    expect(remaining.map((t: { name: string }) => t.name)).toEqual([`${name}/tasks/later`]);
    expect(target.received.map((r) => JSON.parse(r.body).id)).toEqual(['now']);
  });

  it('runs a future task at once on tasks.run', async () => {
    const name = await newQueue();
    const later = new Date(Date.now() + 3_600_000).toISOString();
    await api(cloud, 'POST', `/v2/${name}/tasks`, task(name, 'forced', { scheduleTime: later }));
    expect((await api(cloud, 'POST', `/v2/${name}/tasks/forced:run`, {})).status).toBe(200);
    await waitFor(() => target.received[0], 'the forced dispatch');
  });

  it('retries a failing task with backoff until maxAttempts, then drops it and keeps the name', async () => {
    const name = await newQueue({
      retryConfig: { maxAttempts: 3, minBackoff: '0.02s', maxBackoff: '0.05s', maxDoublings: 1 },
    });
    target.respond = () => 503;
    await api(cloud, 'POST', `/v2/${name}/tasks`, task(name, 'flaky'));
    await waitFor(() => target.received[2], 'three attempts');
    await waitFor(
      async () =>
        (await api(cloud, 'GET', `/v2/${name}/tasks/flaky`)).status === 404 ? true : undefined,
      'the task to be dropped',
    );
    expect(target.received.map((r) => r.headers['x-cloudtasks-taskretrycount'])).toEqual([
      '0',
      '1',
      '2',
    ]);
    expect((await api(cloud, 'POST', `/v2/${name}/tasks`, task(name, 'flaky'))).status).toBe(409);
  });

  it('sends the previous response on retries and counts executions without 5xx answers', async () => {
    const name = await newQueue({
      retryConfig: { minBackoff: '0.02s', maxBackoff: '0.05s', maxDoublings: 1 },
    });
    let release = () => {};
    const held = new Promise<number>((resolve) => {
      release = () => resolve(200);
    });
    const answers = [503, 404];
    target.respond = () => answers.shift() ?? held;
    await api(cloud, 'POST', `/v2/${name}/tasks`, task(name, 'counted'));
    await waitFor(() => target.received[2], 'three attempts');
    const during = await api(cloud, 'GET', `/v2/${name}/tasks/counted?responseView=FULL`);
    release();
    expect(during.body).toMatchObject({ dispatchCount: 3, responseCount: 2 });
    expect(during.body.local).toBeUndefined();
    const header = (h: string) => target.received.map((r) => r.headers[h]);
    expect(header('x-cloudtasks-taskretrycount')).toEqual(['0', '1', '2']);
    // "This number does not include failures due to 5XX error codes."
    expect(header('x-cloudtasks-taskexecutioncount')).toEqual(['0', '0', '1']);
    expect(header('x-cloudtasks-taskpreviousresponse')).toEqual([undefined, '503', '404']);
  });

  it('records attempts on a task that is being retried', async () => {
    const name = await newQueue({ retryConfig: { minBackoff: '60s', maxBackoff: '60s' } });
    target.respond = () => 500;
    await api(cloud, 'POST', `/v2/${name}/tasks`, task(name, 'counted'));
    const got = await waitFor(async () => {
      const res = await api(cloud, 'GET', `/v2/${name}/tasks/counted`);
      return res.body.responseCount === 1 ? res.body : undefined;
    }, 'a recorded attempt');
    expect(got).toMatchObject({ dispatchCount: 1, responseCount: 1 });
    expect(got.firstAttempt.dispatchTime).toBeTypeOf('string');
    expect(got.lastAttempt.responseStatus.code).toBe(13);
    // "The time when the task is scheduled to be attempted or retried" (v2 Task.scheduleTime):
    // the retry's, 60 s (minBackoff) after the failed attempt's answer; before, it kept the first.
    expect(Date.parse(got.scheduleTime)).toBe(Date.parse(got.lastAttempt.responseTime) + 60_000);
  });

  it('keeps at most maxConcurrentDispatches requests open and sends in schedule order', async () => {
    const name = await newQueue({ rateLimits: { maxConcurrentDispatches: 1 } });
    await api(cloud, 'POST', `/v2/${name}:pause`);
    const base = Date.now() - 10_000;
    for (let i = 0; i < 5; i++) {
      const scheduleTime = new Date(base + i).toISOString();
      await api(cloud, 'POST', `/v2/${name}/tasks`, task(name, `c${i}`, { scheduleTime }));
    }
    target.respond = () => new Promise((resolve) => setTimeout(() => resolve(200), 20));
    await api(cloud, 'POST', `/v2/${name}:resume`);
    await waitFor(() => target.received[4], 'five dispatches');
    expect(target.maxConcurrent).toBe(1);
    expect(target.received.map((r) => JSON.parse(r.body).id)).toEqual([
      'c0',
      'c1',
      'c2',
      'c3',
      'c4',
    ]);
  });

  it('aborts a request after the dispatch deadline and records DEADLINE_EXCEEDED', async () => {
    const name = await newQueue({ retryConfig: { minBackoff: '60s', maxBackoff: '60s' } });
    let release: (status: number) => void = () => {};
    target.respond = () => new Promise((resolve) => (release = resolve));
    await api(cloud, 'POST', `/v2/${name}/tasks`, task(name, 'slow', { dispatchDeadline: '0.2s' }));
    const got = await waitFor(async () => {
      const res = await api(cloud, 'GET', `/v2/${name}/tasks/slow`);
      return res.body.lastAttempt?.responseStatus ? res.body : undefined;
    }, 'the deadline to pass');
    release(200);
    expect(got.lastAttempt.responseStatus.code).toBe(4);
    expect(got.responseCount).toBe(0);
  });

  it('refuses a task without an http URL with 400 INVALID_ARGUMENT', async () => {
    const name = await newQueue();
    const res = await api(cloud, 'POST', `/v2/${name}/tasks`, { task: { httpRequest: {} } });
    expect(res.status).toBe(400);
    expect(res.body.error.status).toBe('INVALID_ARGUMENT');
  });

  it('treats a redirect as a failed attempt instead of following it', async () => {
    const name = await newQueue({ retryConfig: { maxAttempts: 1 } });
    target.respond = () => 302;
    await api(cloud, 'POST', `/v2/${name}/tasks`, task(name, 'redirected'));
    await waitFor(
      async () =>
        (await api(cloud, 'GET', `/v2/${name}/tasks/redirected`)).status === 404 ? true : undefined,
      'the task to be dropped after its one attempt',
    );
    expect(target.received.map((r) => r.url)).toEqual(['/work']);
  });
});
