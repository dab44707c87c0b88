import { taskNameFor } from '@slideshow/dispatch';
import { createCloudTasksDispatcher } from '@slideshow/dispatch/cloud-tasks';
import {
  type FakeCloudTasksServer,
  startFakeCloudTasksServer,
} from '@slideshow/dispatch/testing/fake-cloud-tasks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeApp, type TestApp, uploadPng } from './helpers.ts';

const EXECUTIONS = 'http://127.0.0.1:1/executions-api';
const SERVICE_ACCOUNT = 'tasks-invoker@p.iam.gserviceaccount.com';

describe('the outbox relay through the real Cloud Tasks client', () => {
  let fake: FakeCloudTasksServer;
  let t: TestApp;
  beforeAll(async () => {
    fake = await startFakeCloudTasksServer();
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(async () => {
    fake.reset();
    const dispatcher = createCloudTasksDispatcher({
      project: 'p',
      location: 'europe-west1',
      queues: { uploads: 'image-uploads', ingest: 'image-ingest' },
      workflow: 'process-image',
      executionsBaseUrl: EXECUTIONS,
      serviceAccountEmail: SERVICE_ACCOUNT,
      apiEndpoint: fake.url,
    });
    t = await makeApp({ dispatcher });
  });
  afterEach(async () => {
    await t.dispatcher.close?.();
    t.cleanup();
  });

  const upload = (seed: number) => uploadPng(t, seed);

  it('creates one task per upload with the Executions API URL, the argument, an OAuth token and a hashed name', async () => {
    const id = await upload(1);
    expect(await t.relay.drain()).toBe(1);
    const name = `projects/p/locations/europe-west1/queues/image-uploads/tasks/${taskNameFor(id, 0)}`;
    const task = fake.tasks.get(name) as unknown as Record<string, unknown> & {
      httpRequest: Record<string, unknown>;
    };
    expect(task).toBeDefined();
    // The client's REST transport sends the enum as its number (proto3 JSON allows both forms).
    expect([1, 'POST']).toContain(task.httpRequest.httpMethod);
    expect(task.httpRequest).toMatchObject({
      url: `${EXECUTIONS}/v1/projects/p/locations/europe-west1/workflows/process-image/executions`,
      oauthToken: { serviceAccountEmail: SERVICE_ACCOUNT },
    });
    expect(task.httpRequest.oidcToken).toBeUndefined();
    const body = JSON.parse(Buffer.from(String(task.httpRequest.body), 'base64').toString('utf8'));
    expect(body).toEqual({
      argument: JSON.stringify({ file_id: id, generation: 0 }),
      labels: { dispatch_key: taskNameFor(id, 0) },
    });
    expect(t.repos.images.get(id)).toMatchObject({
      status: 'queued',
      dispatch_key: taskNameFor(id, 0),
    });
  });

  it('keeps the row through a Cloud Tasks outage and creates the task once it recovers', async () => {
    const id = await upload(2);
    fake.failNext(503, 1);
    await t.relay.drain();
    expect(t.repos.outbox.stats().pending).toBe(1);
    expect(fake.createdCount).toBe(0);
    t.clock.now += 60_000;
    await t.relay.drain();
    expect(t.repos.outbox.stats().pending).toBe(0);
    expect(fake.createdCount).toBe(1);
    expect(t.repos.images.get(id)?.status).toBe('queued');
  });

  it('counts ALREADY_EXISTS as dispatched when a row is relayed twice (a crash before the delete)', async () => {
    const id = await upload(3);
    await t.relay.drain();
    t.repos.outbox.add({
      imageId: id,
      generation: 0,
      queue: 'uploads',
      taskName: taskNameFor(id, 0),
      now: t.clock.now,
    });
    await t.relay.drain();
    expect(t.repos.outbox.stats().pending).toBe(0);
    expect(fake.createdCount).toBe(1);
  });
});
