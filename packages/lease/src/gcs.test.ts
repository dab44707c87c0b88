import { Storage } from '@google-cloud/storage';
import { type GcsEmulator, startGcsEmulator } from '@slideshow/storage/testing/gcs-emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGcsLeaseStore } from './gcs.ts';
import { runLeaseStoreContract, sampleRecord } from './lease-store.contract.ts';
import { ABSENT } from './lease-store.ts';

let emulator: GcsEmulator;
beforeAll(async () => {
  emulator = await startGcsEmulator();
});
afterAll(async () => {
  await emulator?.stop();
});
let n = 0;

runLeaseStoreContract('gcs (emulator)', () =>
  createGcsLeaseStore({
    bucket: 'db-bucket',
    object: `contract-${n++}.lease`,
    apiEndpoint: emulator.endpoint,
  }),
);

describe('the Cloud Storage lease store', () => {
  it('writes the record as the JSON body too, so an operator can read it with gcloud storage cat', async () => {
    const store = createGcsLeaseStore({
      bucket: 'db-bucket',
      object: 'readable.lease',
      apiEndpoint: emulator.endpoint,
    });
    await store.write(sampleRecord(4), ABSENT);
    const storage = new Storage({ apiEndpoint: emulator.endpoint, projectId: emulator.projectId });
    const [body] = await storage.bucket('db-bucket').file('readable.lease').download();
    expect(JSON.parse(body.toString())).toEqual(sampleRecord(4));
  });

  it('refuses an object that holds no lease record instead of overwriting it', async () => {
    const storage = new Storage({ apiEndpoint: emulator.endpoint, projectId: emulator.projectId });
    await storage.bucket('db-bucket').file('foreign.lease').save('hello', { resumable: false });
    const store = createGcsLeaseStore({
      bucket: 'db-bucket',
      object: 'foreign.lease',
      apiEndpoint: emulator.endpoint,
    });
    await expect(store.read()).rejects.toThrow(/no lease record/);
  });

  it('reports an unreachable server as retryable STORAGE_UNAVAILABLE', async () => {
    const store = createGcsLeaseStore({
      bucket: 'db-bucket',
      object: 'x.lease',
      apiEndpoint: 'http://127.0.0.1:1',
      timeoutMs: 1_000,
    });
    await expect(store.read()).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      retryable: true,
    });
  });
});
