/**
 * The TaskCancellation adapters: the contract against the dry-run adapter and
 * the Cloud Tasks one (the real client against the loopback Cloud Tasks
 * server), then what the Cloud Tasks adapter sends and how it fails: one
 * attempt, bounded, its errors `DISPATCH_FAILED` with the gRPC code.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCloudTasksCancellation, createCloudTasksDispatcher } from './cloud-tasks.ts';
import { createDryRunCancellation } from './dry-run.ts';
import type { TaskCancellation } from './task-cancellation.ts';
import { type QueueName, taskNameFor } from './task-dispatcher.ts';
import {
  type FakeCloudTasksServer,
  startFakeCloudTasksServer,
} from './testing/fake-cloud-tasks-server.ts';
import { describeTaskCancellationContract } from './testing/task-cancellation-contract.ts';

const QUEUES = { uploads: 'image-uploads', ingest: 'image-ingest' } as const;
const PARENT = 'projects/p/locations/l/queues';

describeTaskCancellationContract('the dry-run cancellation', async () => ({
  cancellation: createDryRunCancellation(),
  teardown: async () => {},
}));

describeTaskCancellationContract('the Cloud Tasks cancellation', async () => {
  const fake = await startFakeCloudTasksServer();
  const common = { project: 'p', location: 'l', queues: QUEUES, apiEndpoint: fake.url };
  const dispatcher = createCloudTasksDispatcher({
    ...common,
    workflow: 'w',
    serviceAccountEmail: 'sa@p.iam.gserviceaccount.com',
  });
  return {
    cancellation: createCloudTasksCancellation(common),
    queue: {
      enqueue: async (key: string, queue: QueueName) => {
        await dispatcher.dispatch({
          key,
          queue,
          argument: { file_id: 'queued-image', generation: 3 },
        });
      },
      exists: async (key: string, queue: QueueName) =>
        (await dispatcher.taskState?.(key, queue)) !== undefined,
    },
    teardown: async () => {
      await dispatcher.close?.();
      await fake.close();
    },
  };
});

describe('the Cloud Tasks cancellation on the wire', () => {
  let fake: FakeCloudTasksServer;
  let cancellation: TaskCancellation;
  beforeAll(async () => {
    fake = await startFakeCloudTasksServer();
    cancellation = createCloudTasksCancellation({
      project: 'p',
      location: 'l',
      queues: QUEUES,
      apiEndpoint: fake.url,
    });
  });
  afterAll(async () => {
    await cancellation.close?.();
    await fake.close();
  });
  beforeEach(() => fake.reset());

  it('deletes the task named by the key in the queue configured for the logical queue', async () => {
    const key = taskNameFor('img-1', 0);
    expect(await cancellation.cancel(key, 'ingest')).toBe(false);
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `DELETE /v2/${PARENT}/image-ingest/tasks/${key}`,
    ]);
  });

  it('reports an unavailable service as DISPATCH_FAILED with its gRPC code, after one attempt', async () => {
    // The generated client retries tasks.delete on UNAVAILABLE for up to 600 s by default.
    fake.failNext(503, 3);
    const error = await cancellation.cancel(taskNameFor('img-2', 0), 'uploads').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      code: 'DISPATCH_FAILED',
      retryable: true,
      context: { grpcCode: 14, key: taskNameFor('img-2', 0) },
    });
    expect(fake.requests).toHaveLength(1);
  });

  it('reports a refusal (403) as DISPATCH_FAILED, not retryable', async () => {
    fake.failNext(403);
    await expect(cancellation.cancel(taskNameFor('img-3', 0), 'uploads')).rejects.toMatchObject({
      code: 'DISPATCH_FAILED',
      retryable: false,
      context: { grpcCode: 7 },
    });
  });

  it('refuses a queue that is not configured', async () => {
    await expect(cancellation.cancel(taskNameFor('img-4', 0), 'bulk' as QueueName)).rejects.toThrow(
      "Expected 'uploads' or 'ingest' for queue but received bulk of type string",
    );
  });
});

describe('the Cloud Tasks cancellation when Cloud Tasks does not answer', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    // Accepts the request and never answers: a hung service, or a black-holed network.
    server = createServer(() => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('gives up at its call timeout instead of waiting for the service', async () => {
    const cancellation = createCloudTasksCancellation({
      project: 'p',
      location: 'l',
      queues: QUEUES,
      apiEndpoint: url,
      callTimeoutMs: 300,
    });
    try {
      await expect(cancellation.cancel(taskNameFor('img-5', 0), 'uploads')).rejects.toMatchObject({
        code: 'DISPATCH_FAILED',
      });
    } finally {
      await cancellation.close?.();
    }
  });

  it('fails at once, DISPATCH_FAILED, when nothing listens on the endpoint', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const cancellation = createCloudTasksCancellation({
      project: 'p',
      location: 'l',
      queues: QUEUES,
      apiEndpoint: `http://127.0.0.1:${port}`,
    });
    try {
      await expect(cancellation.cancel(taskNameFor('img-6', 0), 'uploads')).rejects.toMatchObject({
        code: 'DISPATCH_FAILED',
      });
    } finally {
      await cancellation.close?.();
    }
  });
});
