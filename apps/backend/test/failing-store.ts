/**
 * A test adapter of the ObjectStore port whose `put` fails part-way through a
 * streamed body, the way a store does when the disk fills up (ENOSPC) or a
 * bucket stops answering: it takes `afterBytes` of the body, leaves them
 * behind as a partial object (the worst case: the fs store removes its temp
 * file, a resumable upload may not), stops reading, and throws the error the
 * fs store throws for that errno. A body shorter than that fits and is stored
 * whole; everything else goes to the real inner store.
 */
import type { Readable } from 'node:stream';
import { AppError } from '@slideshow/runtime';
import {
  isNoSpaceErrno,
  listThrough,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
} from '@slideshow/storage';

/** Options for {@link createStoreFailingMidStream}. */
export interface MidStreamFailure {
  /** Body bytes accepted before the failure. */
  afterBytes: number;
  /** The errno the failure carries, as the fs store reports it in `context.errno`. */
  errno: 'ENOSPC' | 'EIO';
  /** Which puts fail (default: every streamed put). */
  fails?: (key: string) => boolean;
}

/** Wraps `inner` so that streamed puts fail mid-stream. */
export function createStoreFailingMidStream(
  inner: ObjectStore,
  failure: MidStreamFailure,
): ObjectStore & { failures(): number } {
  let failures = 0;
  return {
    async put(key: string, body: Readable | Buffer, options: PutOptions): Promise<ObjectInfo> {
      if (Buffer.isBuffer(body) || !(failure.fails?.(key) ?? true)) {
        return inner.put(key, body, options);
      }
      const taken: Buffer[] = [];
      let length = 0;
      let overflowed = false;
      for await (const chunk of body as AsyncIterable<Buffer>) {
        taken.push(chunk);
        length += chunk.length;
        if (length > failure.afterBytes) {
          overflowed = true;
          break;
        }
      }
      const info = await inner.put(key, Buffer.concat(taken), options);
      if (!overflowed) return info;
      failures++;
      // As the fs store classifies them (packages/storage, mapFsError): no room is STORAGE_FULL.
      const full = isNoSpaceErrno(failure.errno);
      throw new AppError(
        full ? 'STORAGE_FULL' : 'STORAGE_UNAVAILABLE',
        `Filesystem put of ${JSON.stringify(key)} failed: ${full ? `no space left (${failure.errno})` : failure.errno}`,
        {
          retryable: true,
          context: { key, operation: 'put', errno: failure.errno },
        },
      );
    },
    get: (key, options) => inner.get(key, options),
    stat: (key) => inner.stat(key),
    list: listThrough(inner),
    delete: (key) => inner.delete(key),
    deletePrefix: (prefix) => inner.deletePrefix(prefix),
    failures: () => failures,
  };
}
