import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCloudTasksQueueAdmin } from './cloud-tasks-queue-admin.ts';
import type { QueueAdmin } from './queue-admin.ts';
import {
  type FakeCloudTasksServer,
  startFakeCloudTasksServer,
} from './testing/fake-cloud-tasks-server.ts';

describe('the Cloud Tasks queue admin on the wire', () => {
  let fake: FakeCloudTasksServer;
  let admin: QueueAdmin;
  beforeAll(async () => {
    fake = await startFakeCloudTasksServer();
    admin = createCloudTasksQueueAdmin({
      project: 'p',
      location: 'l',
      queues: { uploads: 'image-uploads', ingest: 'image-ingest' },
      apiEndpoint: fake.url,
    });
  });
  afterAll(async () => {
    await admin.close?.();
    await fake.close();
  });

  it('asks v2beta3 queues.get for the stats through readMask, which Google returns only when named', async () => {
    fake.reset();
    await admin.describe('uploads');
    const request = fake.requests.at(-1);
    expect(request?.method).toBe('GET');
    expect(request?.path).toBe('/v2beta3/projects/p/locations/l/queues/image-uploads');
    expect(request?.query.get('readMask')?.split(',')).toEqual(
      expect.arrayContaining(['name', 'state', 'stats']),
    );
  });

  it('pauses and resumes with the queues.pause and queues.resume custom methods', async () => {
    fake.reset();
    await admin.pause('ingest');
    await admin.resume('ingest');
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /v2/projects/p/locations/l/queues/image-ingest:pause',
      'POST /v2/projects/p/locations/l/queues/image-ingest:resume',
    ]);
  });

  it('reports a refused call as DISPATCH_FAILED, not retryable', async () => {
    fake.failNext(403);
    await expect(admin.pause('uploads')).rejects.toMatchObject({
      code: 'DISPATCH_FAILED',
      retryable: false,
    });
  });

  it('leaves the counts unknown when a pause answer carries no stats', async () => {
    const snapshot = await admin.pause('uploads');
    expect(snapshot.tasksCount).toBeNull();
    expect(snapshot.state).toBe('PAUSED');
    await admin.resume('uploads');
  });
});

describe('the Cloud Tasks queue admin with a token file (local-cloud writes one)', () => {
  it('sends the token the file holds on the v2beta3 and v2 calls', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'queue-admin-token-'));
    const file = join(dir, 'local-cloud.token');
    writeFileSync(file, 'token-from-file\n', { mode: 0o600 });
    const fake = await startFakeCloudTasksServer();
    const admin = createCloudTasksQueueAdmin({
      project: 'p',
      location: 'l',
      queues: { uploads: 'image-uploads', ingest: 'image-ingest' },
      apiEndpoint: fake.url,
      accessTokenFile: file,
    });
    try {
      await admin.describe('uploads');
      await admin.pause('uploads');
      await admin.resume('uploads');
      expect(fake.requests.map((r) => r.headers.authorization)).toEqual([
        'Bearer token-from-file',
        'Bearer token-from-file',
        'Bearer token-from-file',
      ]);
    } finally {
      await admin.close?.();
      await fake.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
