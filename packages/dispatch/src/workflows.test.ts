import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '@slideshow/runtime';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCloudTasksDispatcher } from './cloud-tasks.ts';
import type { TaskDispatcher } from './task-dispatcher.ts';
import { taskNameFor } from './task-dispatcher.ts';
import {
  type FakeWorkflowExecutionsServer,
  startFakeWorkflowExecutionsServer,
} from './testing/fake-workflow-executions-server.ts';
import { createWorkflowsDispatcher } from './workflows.ts';

const PARENT = 'projects/demo-project/locations/europe-west1/workflows/process-image';

let fake: FakeWorkflowExecutionsServer;
let dispatcher: TaskDispatcher;

beforeAll(async () => {
  fake = await startFakeWorkflowExecutionsServer();
  dispatcher = createWorkflowsDispatcher({
    project: 'demo-project',
    location: 'europe-west1',
    workflow: 'process-image',
    apiEndpoint: fake.url,
  });
});

afterAll(async () => {
  await dispatcher.close?.();
  await fake.close();
});

beforeEach(() => fake.reset());

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof AppError)) throw new Error(`expected an AppError, got ${String(error)}`);
  return error;
}

describe('the Workflows dispatcher', () => {
  it('creates an execution with the argument as a JSON string and a dispatch-key label', async () => {
    const result = await dispatcher.dispatch({
      key: taskNameFor('img-1', 2),
      queue: 'uploads',
      argument: { file_id: 'img-1', generation: 2 },
    });
    expect(result.alreadyExisted).toBe(false);
    expect(result.taskName).toMatch(new RegExp(`^${PARENT}/executions/[0-9a-f-]{36}$`));
    const create = fake.requests.find((r) => r.method === 'POST');
    expect(create?.path).toBe(`/v1/${PARENT}/executions`);
    expect(create?.body).toEqual({
      argument: '{"file_id":"img-1","generation":2}',
      labels: { dispatch_key: taskNameFor('img-1', 2) },
    });
  });

  it('does not create a second execution for the same image generation', async () => {
    const request = {
      key: taskNameFor('img-2', 0),
      queue: 'uploads',
      argument: { file_id: 'img-2', generation: 0 },
    } as const;
    const first = await dispatcher.dispatch(request);
    const second = await dispatcher.dispatch(request);
    expect(second).toEqual({ taskName: first.taskName, alreadyExisted: true });
    expect(fake.executions).toHaveLength(1);
  });

  it('reads the state of the execution for an image generation through the Executions API', async () => {
    const { taskName } = await dispatcher.dispatch({
      key: taskNameFor('img-3', 1),
      queue: 'uploads',
      argument: { file_id: 'img-3', generation: 1 },
    });
    expect(await dispatcher.executionState?.(taskNameFor('img-3', 1))).toMatchObject({
      name: taskName,
      state: 'ACTIVE',
    });
    fake.setState(taskName, 'FAILED', '{"message":"job failed"}');
    const state = await dispatcher.executionState?.(taskNameFor('img-3', 1));
    expect(state).toMatchObject({
      name: taskName,
      state: 'FAILED',
      error: '{"message":"job failed"}',
    });
    expect(state?.startTime).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(state?.endTime).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await dispatcher.executionState?.(taskNameFor('img-3', 2))).toBeUndefined();
  });

  it('reports a 429 from the Executions API as a retryable DISPATCH_FAILED', async () => {
    fake.failNext(429);
    const error = await rejection(
      dispatcher.dispatch({
        key: taskNameFor('img-4', 0),
        queue: 'uploads',
        argument: { file_id: 'img-4', generation: 0 },
      }),
    );
    expect(error.code).toBe('DISPATCH_FAILED');
    expect(error.retryable).toBe(true);
  });

  it('reports a 403 from the Executions API as a non-retryable DISPATCH_FAILED', async () => {
    fake.failNext(403);
    const error = await rejection(
      dispatcher.dispatch({
        key: taskNameFor('img-5', 0),
        queue: 'uploads',
        argument: { file_id: 'img-5', generation: 0 },
      }),
    );
    expect(error.code).toBe('DISPATCH_FAILED');
    expect(error.retryable).toBe(false);
  });
});

describe('the Workflows dispatcher against an emulator that wants a fixed token', () => {
  it('sends the configured access token and no credentials otherwise', async () => {
    const strict = await startFakeWorkflowExecutionsServer({
      requiredToken: 'local-oauth-stand-in',
    });
    const withToken = createWorkflowsDispatcher({
      project: 'p',
      location: 'l',
      workflow: 'w',
      apiEndpoint: strict.url,
      accessToken: 'local-oauth-stand-in',
    });
    const without = createWorkflowsDispatcher({
      project: 'p',
      location: 'l',
      workflow: 'w',
      apiEndpoint: strict.url,
    });
    try {
      const ok = await withToken.dispatch({
        key: taskNameFor('a', 0),
        queue: 'uploads',
        argument: { file_id: 'a', generation: 0 },
      });
      expect(ok.alreadyExisted).toBe(false);
      const create = strict.requests.find((r) => r.method === 'POST');
      expect(create?.headers.authorization).toBe('Bearer local-oauth-stand-in');
      const error = await rejection(
        without.dispatch({
          key: taskNameFor('b', 0),
          queue: 'uploads',
          argument: { file_id: 'b', generation: 0 },
        }),
      );
      expect(error.retryable).toBe(false);
    } finally {
      await withToken.close?.();
      await without.close?.();
      await strict.close();
    }
  });
});

describe('the Workflows dispatcher with a token file (local-cloud writes one)', () => {
  it('sends the token the file holds, and fails retryably, naming the file, while it is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dispatch-token-'));
    const file = join(dir, 'local-cloud.token');
    const strict = await startFakeWorkflowExecutionsServer({ requiredToken: 'token-from-file' });
    const fromFile = createWorkflowsDispatcher({
      project: 'p',
      location: 'l',
      workflow: 'w',
      apiEndpoint: strict.url,
      accessTokenFile: file,
    });
    try {
      const missing = await rejection(
        fromFile.dispatch({
          key: taskNameFor('c', 0),
          queue: 'uploads',
          argument: { file_id: 'c', generation: 0 },
        }),
      );
      expect(missing.code).toBe('DISPATCH_FAILED');
      expect(missing.retryable).toBe(true);
      expect(missing.message).toContain(file);
      // Written after the dispatcher was made, as when the backend starts before local-cloud.
      writeFileSync(file, 'token-from-file\n', { mode: 0o600 });
      const ok = await fromFile.dispatch({
        key: taskNameFor('c', 0),
        queue: 'uploads',
        argument: { file_id: 'c', generation: 0 },
      });
      expect(ok.alreadyExisted).toBe(false);
      const create = strict.requests.find((r) => r.method === 'POST');
      expect(create?.headers.authorization).toBe('Bearer token-from-file');
    } finally {
      await fromFile.close?.();
      await strict.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the Workflows dispatcher against a server that ignores list filters', () => {
  it('still tells different images apart by their label', async () => {
    const lax = await startFakeWorkflowExecutionsServer({ honourFilters: false });
    const direct = createWorkflowsDispatcher({
      project: 'p',
      location: 'l',
      workflow: 'w',
      apiEndpoint: lax.url,
    });
    try {
      const a = await direct.dispatch({
        key: taskNameFor('a', 0),
        queue: 'uploads',
        argument: { file_id: 'a', generation: 0 },
      });
      const b = await direct.dispatch({
        key: taskNameFor('b', 0),
        queue: 'uploads',
        argument: { file_id: 'b', generation: 0 },
      });
      expect(a.alreadyExisted).toBe(false);
      expect(b.alreadyExisted).toBe(false);
      expect((await direct.executionState?.(taskNameFor('a', 0)))?.name).toBe(a.taskName);
    } finally {
      await direct.close?.();
      await lax.close();
    }
  });
});

describe('execution state of a task delivered twice (two executions with one label)', () => {
  /** Creates an execution as a Cloud Tasks delivery does: a POST with the dispatch_key label. */
  async function deliver(key: string): Promise<string> {
    const res = await fetch(`${fake.url}/v1/${PARENT}/executions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ argument: '{}', labels: { dispatch_key: key } }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { name: string }).name;
  }

  it('is the one still running, though a newer one ended', async () => {
    const key = taskNameFor('img-7', 0);
    const older = await deliver(key);
    const newer = await deliver(key);
    // Start times one second apart, older first, whatever the clock's resolution.
    const [a, b] = fake.executions;
    if (!a || !b) throw new Error('expected two executions');
    a.startTime = '2026-01-01T00:00:00.000Z';
    b.startTime = '2026-01-01T00:00:01.000Z';
    fake.setState(newer, 'SUCCEEDED');
    expect(await dispatcher.executionState?.(key)).toMatchObject({ name: older, state: 'ACTIVE' });
    // Once both have ended, the newest tells.
    fake.setState(older, 'FAILED', '{"message":"job failed"}');
    expect(await dispatcher.executionState?.(key)).toMatchObject({
      name: newer,
      state: 'SUCCEEDED',
    });
  });
});

describe('execution state from an emulator that lists oldest first', () => {
  it('is the most recently started execution of the image', async () => {
    const oldestFirst = await startFakeWorkflowExecutionsServer({ listOrder: 'oldest-first' });
    const options = { project: 'p', location: 'l', workflow: 'w', apiEndpoint: oldestFirst.url };
    const direct = createWorkflowsDispatcher(options);
    const tasks = createCloudTasksDispatcher({
      ...options,
      queues: { uploads: 'u', ingest: 'i' },
      serviceAccountEmail: 'sa@p.iam.gserviceaccount.com',
      executionsBaseUrl: oldestFirst.url,
    });
    try {
      await direct.dispatch({
        key: taskNameFor('img', 0),
        queue: 'uploads',
        argument: { file_id: 'img', generation: 0 },
      });
      const retry = await direct.dispatch({
        key: taskNameFor('img', 1),
        queue: 'uploads',
        argument: { file_id: 'img', generation: 1 },
      });
      expect((await tasks.executionState?.(taskNameFor('img', 1)))?.name).toBe(retry.taskName);
    } finally {
      await direct.close?.();
      await tasks.close?.();
      await oldestFirst.close();
    }
  });
});

describe('the Cloud Tasks dispatcher reading execution state', () => {
  it('finds the execution its task created by the dispatch_key label', async () => {
    const tasks = createCloudTasksDispatcher({
      project: 'demo-project',
      location: 'europe-west1',
      queues: { uploads: 'u', ingest: 'i' },
      workflow: 'process-image',
      serviceAccountEmail: 'sa@demo-project.iam.gserviceaccount.com',
      // Only the Executions API is used here; Cloud Tasks is never called.
      apiEndpoint: fake.url,
      executionsBaseUrl: fake.url,
    });
    try {
      // Executions carrying the label, as the task body of the Cloud Tasks adapter sets it.
      const direct = createWorkflowsDispatcher({
        project: 'demo-project',
        location: 'europe-west1',
        workflow: 'process-image',
        apiEndpoint: fake.url,
      });
      await direct.dispatch({
        key: taskNameFor('img-6', 0),
        queue: 'uploads',
        argument: { file_id: 'img-6', generation: 0 },
      });
      await direct.dispatch({
        key: taskNameFor('other', 0),
        queue: 'uploads',
        argument: { file_id: 'other', generation: 0 },
      });
      await direct.close?.();
      const newest = fake.executions[0]?.name ?? '';
      fake.setState(newest, 'SUCCEEDED');
      expect(await tasks.executionState?.(taskNameFor('img-6', 0))).toMatchObject({
        name: newest,
        state: 'SUCCEEDED',
      });
      expect(await tasks.executionState?.(taskNameFor('missing', 0))).toBeUndefined();
      const list = fake.requests.filter((r) => r.method === 'GET');
      expect(list.at(-1)?.query.get('filter')).toBe(
        `labels.dispatch_key="${taskNameFor('missing', 0)}"`,
      );
    } finally {
      await tasks.close?.();
    }
  });
});
