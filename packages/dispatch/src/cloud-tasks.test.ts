import { AppError } from '@slideshow/runtime';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCloudTasksDispatcher } from './cloud-tasks.ts';
import type { TaskDispatcher } from './task-dispatcher.ts';
import { taskNameFor } from './task-dispatcher.ts';
import {
  type FakeCloudTasksServer,
  startFakeCloudTasksServer,
} from './testing/fake-cloud-tasks-server.ts';

const QUEUE_PARENT = 'projects/demo-project/locations/europe-west1/queues/image-uploads';
const EXECUTIONS_URL =
  'https://workflowexecutions.googleapis.com/v1/projects/demo-project/locations/europe-west1/workflows/process-image/executions';

let fake: FakeCloudTasksServer;
let dispatcher: TaskDispatcher;

beforeAll(async () => {
  fake = await startFakeCloudTasksServer();
  dispatcher = createCloudTasksDispatcher({
    project: 'demo-project',
    location: 'europe-west1',
    queues: { uploads: 'image-uploads', ingest: 'image-ingest' },
    workflow: 'process-image',
    serviceAccountEmail: 'tasks-invoker@demo-project.iam.gserviceaccount.com',
    dispatchDeadlineSeconds: 120,
    apiEndpoint: fake.url,
  });
});

afterAll(async () => {
  await dispatcher.close?.();
  await fake.close();
});

beforeEach(() => fake.reset());

function createdTask(index = 0): Record<string, unknown> {
  const request = fake.requests[index];
  if (request === undefined) throw new Error(`the fake received no request #${index}`);
  return (request.body as { task: Record<string, unknown> }).task;
}

describe('the Cloud Tasks dispatcher', () => {
  it('creates a task in the upload queue with a hashed name through the REST API', async () => {
    const result = await dispatcher.dispatch({
      imageId: 'img-1',
      generation: 0,
      queue: 'uploads',
      argument: { file_id: 'img-1', generation: 0 },
    });
    const name = `${QUEUE_PARENT}/tasks/${taskNameFor('img-1', 0)}`;
    expect(result).toEqual({ taskName: name, alreadyExisted: false });
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]?.method).toBe('POST');
    expect(fake.requests[0]?.path).toBe(`/v2/${QUEUE_PARENT}/tasks`);
    expect(createdTask().name).toBe(name);
    expect(fake.tasks.has(name)).toBe(true);
  });

  it('targets the Workflow Executions API with the argument as a JSON string in the body', async () => {
    await dispatcher.dispatch({
      imageId: 'img-2',
      generation: 3,
      queue: 'uploads',
      argument: { file_id: 'img-2', generation: 3 },
    });
    const httpRequest = createdTask().httpRequest as Record<string, unknown>;
    expect(httpRequest.url).toBe(EXECUTIONS_URL);
    // The REST transport asks for numeric enums; POST is HttpMethod 1.
    expect([1, 'POST']).toContain(httpRequest.httpMethod);
    expect(httpRequest.headers).toEqual({ 'Content-Type': 'application/json' });
    const body = Buffer.from(String(httpRequest.body), 'base64').toString('utf8');
    expect(body).toBe('{"argument":"{\\"file_id\\":\\"img-2\\",\\"generation\\":3}"}');
  });

  it('attaches an OAuth token for the service account and never an OIDC token', async () => {
    await dispatcher.dispatch({
      imageId: 'img-3',
      generation: 0,
      queue: 'uploads',
      argument: { file_id: 'img-3', generation: 0 },
    });
    const httpRequest = createdTask().httpRequest as Record<string, unknown>;
    expect(httpRequest.oauthToken).toEqual({
      serviceAccountEmail: 'tasks-invoker@demo-project.iam.gserviceaccount.com',
      scope: 'https://www.googleapis.com/auth/cloud-platform',
    });
    expect(httpRequest).not.toHaveProperty('oidcToken');
  });

  it('sets the dispatch deadline on the task', async () => {
    await dispatcher.dispatch({
      imageId: 'img-4',
      generation: 0,
      queue: 'uploads',
      argument: { file_id: 'img-4', generation: 0 },
    });
    expect(createdTask().dispatchDeadline).toBe('120s');
  });

  it('puts ingest requests in the ingest queue, batch arguments included', async () => {
    const result = await dispatcher.dispatch({
      imageId: 'batch-1',
      generation: 0,
      queue: 'ingest',
      argument: { file_ids: ['a', 'b'], generations: [0, 2] },
    });
    expect(result.taskName).toMatch(
      /^projects\/demo-project\/locations\/europe-west1\/queues\/image-ingest\/tasks\/[0-9a-f]{32}$/,
    );
    const httpRequest = createdTask().httpRequest as Record<string, unknown>;
    const body = JSON.parse(Buffer.from(String(httpRequest.body), 'base64').toString('utf8'));
    expect(JSON.parse(body.argument)).toEqual({ file_ids: ['a', 'b'], generations: [0, 2] });
  });

  it('counts a duplicate dispatch of the same generation as success', async () => {
    const request = {
      imageId: 'img-5',
      generation: 1,
      queue: 'uploads',
      argument: { file_id: 'img-5', generation: 1 },
    } as const;
    const first = await dispatcher.dispatch(request);
    const second = await dispatcher.dispatch(request);
    expect(first.alreadyExisted).toBe(false);
    expect(second).toEqual({ taskName: first.taskName, alreadyExisted: true });
    expect(fake.createdCount).toBe(1);
    expect(fake.requests).toHaveLength(2);
  });

  it('creates a new task for the next generation of the same image', async () => {
    const a = await dispatcher.dispatch({
      imageId: 'img-6',
      generation: 1,
      queue: 'uploads',
      argument: { file_id: 'img-6', generation: 1 },
    });
    const b = await dispatcher.dispatch({
      imageId: 'img-6',
      generation: 2,
      queue: 'uploads',
      argument: { file_id: 'img-6', generation: 2 },
    });
    expect(a.taskName).not.toBe(b.taskName);
    expect(b.alreadyExisted).toBe(false);
  });

  it('reports a 503 from Cloud Tasks as a retryable DISPATCH_FAILED', async () => {
    fake.failNext(503);
    const error = await dispatcher
      .dispatch({
        imageId: 'img-7',
        generation: 0,
        queue: 'uploads',
        argument: { file_id: 'img-7', generation: 0 },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('DISPATCH_FAILED');
    expect((error as AppError).retryable).toBe(true);
    // createTask is not retried by the client (non-idempotent): one request, no task.
    expect(fake.requests).toHaveLength(1);
    expect(fake.createdCount).toBe(0);
  });

  it('reports a 400 from Cloud Tasks as a non-retryable DISPATCH_FAILED', async () => {
    fake.failNext(400);
    const error = await dispatcher
      .dispatch({
        imageId: 'img-8',
        generation: 0,
        queue: 'uploads',
        argument: { file_id: 'img-8', generation: 0 },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('DISPATCH_FAILED');
    expect((error as AppError).retryable).toBe(false);
  });

  it('reports an unreachable endpoint as a retryable DISPATCH_FAILED', async () => {
    const closed = await startFakeCloudTasksServer();
    await closed.close();
    const offline = createCloudTasksDispatcher({
      project: 'p',
      location: 'l',
      queues: { uploads: 'u', ingest: 'i' },
      workflow: 'w',
      serviceAccountEmail: 'sa@p.iam.gserviceaccount.com',
      apiEndpoint: closed.url,
    });
    const error = await offline
      .dispatch({
        imageId: 'x',
        generation: 0,
        queue: 'uploads',
        argument: { file_id: 'x', generation: 0 },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    await offline.close?.();
    expect((error as AppError).code).toBe('DISPATCH_FAILED');
    expect((error as AppError).retryable).toBe(true);
  });

  it('reuses its connection for sequential dispatches', async () => {
    const before = fake.connectionCount;
    for (let i = 0; i < 5; i += 1) {
      await dispatcher.dispatch({
        imageId: `ka-${i}`,
        generation: 0,
        queue: 'uploads',
        argument: { file_id: `ka-${i}`, generation: 0 },
      });
    }
    expect(fake.connectionCount - before).toBeLessThanOrEqual(1);
  });

  it('sends no credentials to a plain-http emulator endpoint', async () => {
    await dispatcher.dispatch({
      imageId: 'img-9',
      generation: 0,
      queue: 'uploads',
      argument: { file_id: 'img-9', generation: 0 },
    });
    expect(fake.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('refuses a dispatch deadline outside Cloud Tasks bounds when it is created', () => {
    expect(() =>
      createCloudTasksDispatcher({
        project: 'p',
        location: 'l',
        queues: { uploads: 'u', ingest: 'i' },
        workflow: 'w',
        serviceAccountEmail: 'sa@p.iam.gserviceaccount.com',
        dispatchDeadlineSeconds: 5,
      }),
    ).toThrow(
      'Expected an integer between 15 and 1800 for dispatchDeadlineSeconds but received 5 of type number',
    );
  });
});
