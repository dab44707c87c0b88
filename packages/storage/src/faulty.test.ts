import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { AppError } from '@slideshow/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFaultyObjectStore, parseStorageFaults } from './faulty.ts';
import { createFsObjectStore, type FsObjectStore } from './fs.ts';

let scratch: string;
let inner: FsObjectStore;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'storage-faulty-test-'));
  inner = createFsObjectStore({ root: scratch });
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function outcomes(seed: number, salt: string, count: number): Promise<string[]> {
  const store = createFaultyObjectStore(inner, { seed, salt, failRate: 0.3 });
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    try {
      await store.put(`det/${seed}/${salt}/${i}`, Buffer.from('x'), { contentType: 'text/plain' });
      out.push('ok');
    } catch (error) {
      out.push(error instanceof AppError ? error.code : 'other');
    }
  }
  return out;
}

async function readText(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

describe('the faulty object store', () => {
  it('passes every call through unchanged when no fault is configured', async () => {
    const store = createFaultyObjectStore(inner, { seed: 1 });
    await store.put('plain/a.txt', Buffer.from('hello'), { contentType: 'text/plain' });
    expect(await readText(await store.get('plain/a.txt'))).toBe('hello');
    expect((await store.stat('plain/a.txt'))?.bytes).toBe(5);
    await store.put('plain/deeper/b.txt', Buffer.from('b'), { contentType: 'text/plain' });
    const listed: string[] = [];
    for await (const info of store.list('plain/')) listed.push(info.key);
    expect(listed).toEqual(['plain/a.txt', 'plain/deeper/b.txt']);
    // The delimiter reaches the inner store: one level, not every object.
    const level: string[] = [];
    for await (const e of store.list('plain/', { delimiter: '/' })) {
      level.push(e.kind === 'prefix' ? `prefix ${e.prefix}` : `object ${e.key}`);
    }
    expect(level).toEqual(['object plain/a.txt', 'prefix plain/deeper/']);
    expect(await store.deletePrefix('plain/')).toBe(2);
    expect(store.stats()).toEqual({ calls: 3, failures: 0, stalls: 0 });
  });

  it('fails the same calls for the same seed and salt, and other calls for another salt', async () => {
    const first = await outcomes(42, 'a', 40);
    const again = await outcomes(42, 'a', 40);
    const otherSalt = await outcomes(42, 'b', 40);
    expect(again).toEqual(first);
    expect(otherSalt).not.toEqual(first);
    expect(first.filter((o) => o === 'STORAGE_UNAVAILABLE').length).toBeGreaterThan(3);
    expect(first.filter((o) => o === 'ok').length).toBeGreaterThan(10);
  });

  it('reports an injected failure as a retryable STORAGE_UNAVAILABLE and stores nothing', async () => {
    const store = createFaultyObjectStore(inner, { seed: 7, failRate: 1 });
    const error = await store
      .put('fail/a.txt', Buffer.from('x'), { contentType: 'text/plain' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'STORAGE_UNAVAILABLE', retryable: true });
    expect(await inner.stat('fail/a.txt')).toBeUndefined();
    await inner.put('fail/b.txt', Buffer.from('y'), { contentType: 'text/plain' });
    await expect(store.get('fail/b.txt')).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
  });

  it('drains the body stream of a failed put so the producer is never left blocked', async () => {
    const store = createFaultyObjectStore(inner, { seed: 7, failRate: 1 });
    const body = new PassThrough({ highWaterMark: 16 });
    const written = new Promise<void>((resolve) => {
      // 1 MB through a 16-byte buffer only finishes if someone reads it.
      body.end(Buffer.alloc(1024 * 1024), resolve);
    });
    await expect(store.put('fail/stream.bin', body, { contentType: 'x/y' })).rejects.toThrow(
      /injected storage fault/,
    );
    await written;
  });

  it('stalls a call before it starts and still completes it', async () => {
    const store = createFaultyObjectStore(inner, { seed: 3, stallRate: 1, stallMs: 20 });
    await store.put('stall/a.txt', Readable.from([Buffer.from('slow')]), {
      contentType: 'text/plain',
    });
    expect(await readText(await store.get('stall/a.txt'))).toBe('slow');
    expect(store.stats()).toEqual({ calls: 2, failures: 0, stalls: 2 });
  });

  it('ends a stalled put early when its signal aborts', async () => {
    const store = createFaultyObjectStore(inner, { seed: 3, stallRate: 1, stallMs: 60_000 });
    const controller = new AbortController();
    const pending = store.put('stall/aborted.txt', Buffer.from('x'), {
      contentType: 'text/plain',
      signal: controller.signal,
    });
    controller.abort(new Error('client went away'));
    await expect(pending).rejects.toThrow();
    expect(await inner.stat('stall/aborted.txt')).toBeUndefined();
  });

  it('only touches the operations it is told to', async () => {
    const store = createFaultyObjectStore(inner, { seed: 1, failRate: 1, operations: ['get'] });
    await store.put('ops/a.txt', Buffer.from('x'), { contentType: 'text/plain' });
    await expect(store.get('ops/a.txt')).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
  });

  it('refuses a rate outside 0 to 1 with a message naming it', () => {
    expect(() => createFaultyObjectStore(inner, { seed: 1, failRate: 2 })).toThrow(
      'Expected a number between 0 and 1 for failRate but received 2 of type number',
    );
  });
});

describe('parseStorageFaults', () => {
  it('reads the STORAGE_FAULTS format with a salt', () => {
    expect(parseStorageFaults('seed=42,fail=0.05,stall=0.02,stallMs=3000', 'attempt-1')).toEqual({
      seed: 42,
      salt: 'attempt-1',
      failRate: 0.05,
      stallRate: 0.02,
      stallMs: 3000,
    });
    expect(parseStorageFaults('seed=5,ops=put')).toEqual({ seed: 5, operations: ['put'] });
  });

  it('refuses unknown fields and malformed numbers instead of silently ignoring them', () => {
    expect(() => parseStorageFaults('seed=1,fial=0.1')).toThrow('Unknown field "fial"');
    expect(() => parseStorageFaults('seed=x')).toThrow('Expected a number for seed');
    expect(() => parseStorageFaults('seed')).toThrow('Expected name=value');
    expect(() => parseStorageFaults('ops=delete')).toThrow('Expected ops to be put');
  });
});
