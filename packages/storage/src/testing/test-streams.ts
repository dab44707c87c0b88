/**
 * Stream and assertion helpers for the storage tests: lazily generated bodies
 * (optionally failing mid-stream), draining, and a live-memory probe.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AppError } from '@slideshow/runtime';
import { expect } from 'vitest';
import type { ObjectInfo } from '../object-store.ts';

/** Reads a whole stream into one Buffer. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** Resolves to the AppError `promise` rejects with (fails the test when it resolves or throws something else). */
export async function appErrorOf(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

/** A stream that produces `total` bytes lazily in `chunkSize` pieces, failing after `failAfter` bytes if set. */
export function generatedStream(
  total: number,
  options: { chunkSize?: number; failAfter?: number; onChunk?: (produced: number) => void } = {},
): { stream: Readable; digest: () => string } {
  const chunkSize = options.chunkSize ?? 64 * 1024;
  const hash = createHash('sha256');
  let produced = 0;
  let index = 0;
  const stream = new Readable({
    highWaterMark: chunkSize,
    read() {
      if (options.failAfter !== undefined && produced >= options.failAfter) {
        this.destroy(new Error('source failed mid-stream'));
        return;
      }
      if (produced >= total) {
        this.push(null);
        return;
      }
      const size = Math.min(chunkSize, total - produced);
      const chunk = Buffer.alloc(size, index++ % 251);
      hash.update(chunk);
      produced += size;
      options.onChunk?.(produced);
      this.push(chunk);
    },
  });
  return { stream, digest: () => hash.digest('hex') };
}

/** Hex SHA-256 of a buffer. */
export function sha256(buffer: Buffer): string {
  return createHash('sha256').update(buffer).digest('hex');
}

/** Drains a listing into an array. */
export async function collect<T = ObjectInfo>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/** `gc()` without starting Node with --expose-gc, so memory samples count live bytes only. */
export function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
