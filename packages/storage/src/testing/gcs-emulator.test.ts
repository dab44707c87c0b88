/**
 * Smoke test of the firebase-tools internals the emulator helper relies on:
 * if a firebase-tools upgrade moves or changes them, this fails first.
 */
import { Storage } from '@google-cloud/storage';
import { probeKeepAlive } from '@slideshow/tools/keep-alive-probe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GcsEmulator, startGcsEmulator } from './gcs-emulator.ts';

describe('GCS emulator helper', () => {
  let emulator: GcsEmulator;

  beforeAll(async () => {
    emulator = await startGcsEmulator();
  });

  afterAll(async () => {
    await emulator?.stop();
  });

  it('listens on a loopback address with an OS-chosen port', () => {
    expect(emulator.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(emulator.endpoint).not.toMatch(/:9199$/);
  });

  it('serves the GCS JSON API upload, metadata, media, list and delete calls over plain HTTP', async () => {
    const base = `${emulator.endpoint}`;
    const upload = await fetch(
      `${base}/upload/storage/v1/b/smoke/o?uploadType=media&name=${encodeURIComponent('dir/hello.txt')}`,
      {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'hello',
      },
    );
    expect(upload.status, await upload.clone().text()).toBe(200);
    expect(await upload.json()).toMatchObject({
      name: 'dir/hello.txt',
      bucket: 'smoke',
      size: '5',
      contentType: 'text/plain',
    });

    const metadata = await fetch(
      `${base}/storage/v1/b/smoke/o/${encodeURIComponent('dir/hello.txt')}`,
    );
    expect(await metadata.json()).toMatchObject({ name: 'dir/hello.txt', size: '5' });

    const media = await fetch(
      `${base}/storage/v1/b/smoke/o/${encodeURIComponent('dir/hello.txt')}?alt=media`,
    );
    expect(await media.text()).toBe('hello');

    const listing = await fetch(`${base}/storage/v1/b/smoke/o?prefix=dir/`);
    expect(
      ((await listing.json()) as { items: Array<{ name: string }> }).items.map((i) => i.name),
    ).toEqual(['dir/hello.txt']);

    const removed = await fetch(
      `${base}/storage/v1/b/smoke/o/${encodeURIComponent('dir/hello.txt')}`,
      { method: 'DELETE' },
    );
    expect(removed.status).toBe(204);
    const gone = await fetch(`${base}/storage/v1/b/smoke/o/${encodeURIComponent('dir/hello.txt')}`);
    expect(gone.status).toBe(404);
  });

  it('accepts the official client without credentials when given apiEndpoint', async () => {
    const storage = new Storage({ apiEndpoint: emulator.endpoint, projectId: emulator.projectId });
    const file = storage.bucket('client').file('a/b.json');
    await file.save('{"ok":true}', { contentType: 'application/json', resumable: false });
    const [contents] = await file.download();
    expect(contents.toString()).toBe('{"ok":true}');
    const [files] = await storage.bucket('client').getFiles({ prefix: 'a/' });
    expect(files.map((f) => f.name)).toEqual(['a/b.json']);
    expect(emulator.requests.every((r) => !r.url.includes('token'))).toBe(true);
  });

  it('enforces ifGenerationMatch on uploads and deletes as Cloud Storage does (412, 0 = must not exist)', async () => {
    // firebase-tools ignores these preconditions; gcs-preconditions.ts adds them.
    const storage = new Storage({ apiEndpoint: emulator.endpoint, projectId: emulator.projectId });
    const file = storage.bucket('preconditions').file('lease.json');
    const save = (body: string, ifGenerationMatch: number) =>
      file.save(body, { resumable: false, preconditionOpts: { ifGenerationMatch } });
    const status = (error: unknown) => (error as { code?: unknown }).code;

    await save('first', 0);
    const [created] = await file.getMetadata();
    const first = Number(created.generation);
    await expect(save('again', 0)).rejects.toSatisfy((e) => status(e) === 412);
    await expect(save('wrong', first + 1)).rejects.toSatisfy((e) => status(e) === 412);
    await save('second', first);
    const [replaced] = await file.getMetadata();
    expect(Number(replaced.generation)).not.toBe(first);
    await expect(save('stale', first)).rejects.toSatisfy((e) => status(e) === 412);
    await expect(file.delete({ ifGenerationMatch: first })).rejects.toSatisfy(
      (e) => status(e) === 412,
    );
    expect((await file.download())[0].toString()).toBe('second');
    await file.delete({ ifGenerationMatch: Number(replaced.generation) });
    expect((await file.exists())[0]).toBe(false);
  });

  it('lets exactly one of many concurrent creates with ifGenerationMatch=0 succeed', async () => {
    const storage = new Storage({ apiEndpoint: emulator.endpoint, projectId: emulator.projectId });
    const file = storage.bucket('preconditions').file('race.json');
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        file.save(`writer ${i}`, { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } }),
      ),
    );
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter(
      (o) => o.status === 'rejected' && (o.reason as { code?: unknown }).code === 412,
    );
    expect([won.length, lost.length]).toEqual([1, 7]);
  });

  it('forgets every object on reset', async () => {
    const storage = new Storage({ apiEndpoint: emulator.endpoint, projectId: emulator.projectId });
    await storage.bucket('reset').file('x.txt').save('x', { resumable: false });
    emulator.reset();
    const [exists] = await storage.bucket('reset').file('x.txt').exists();
    expect(exists).toBe(false);
  });

  it('keeps an idle connection open past the 6 s of a Node server, as Google front ends do (610 s)', async () => {
    // A client's pooled socket reused after 6.5 s idle must still be open: Node's default closed
    // it at 6 s, and a reuse in the same event-loop turn as that close failed with EPIPE.
    const probe = await probeKeepAlive(emulator.endpoint, '/storage/v1/b/keep-alive/o', 6_500);
    expect(probe).toEqual({ keepAliveHeader: 'timeout=610', second: 'HTTP/1.1 200 OK' });
  }, 20_000);

  it('stops idempotently and closes the port', async () => {
    const second = await startGcsEmulator({ projectId: 'demo-second' });
    await second.stop();
    await second.stop();
    await expect(fetch(`${second.endpoint}/storage/v1/b/x/o`)).rejects.toThrow();
  });
});
