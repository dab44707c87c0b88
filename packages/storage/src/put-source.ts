/**
 * A put's body as the adapters consume it. Errors thrown by the caller's
 * stream (a client that hung up, a byte limit that tripped) are tagged on the
 * way through, so the adapter can rethrow them as they are instead of
 * reporting them as a storage failure; errors from the storage side pass
 * untagged.
 */
import { PassThrough, type Readable } from 'node:stream';
import type { AppError } from '@slideshow/runtime';
import { coerceError } from '@slideshow/runtime';

class SourceFailure extends Error {
  constructor(cause: unknown) {
    super('the body stream failed', { cause });
    this.name = 'SourceFailure';
  }
}

/**
 * Wraps a body stream so its own errors can be told apart later by {@link sourceErrorOf}.
 * A plain pipe into a PassThrough: backpressure is kept and at most one extra buffer is held
 * (async iteration would concatenate buffered chunks and double the memory in flight).
 */
export function guardSource(body: Readable): Readable {
  const guarded = new PassThrough();
  body.once('error', (error: unknown) => guarded.destroy(new SourceFailure(error)));
  // When the consumer gives up (storage failed, put aborted), stop reading the body too.
  guarded.once('close', () => {
    if (!body.readableEnded && !body.destroyed) body.destroy();
  });
  body.pipe(guarded);
  return guarded;
}

/** The caller's own error (normalised) when `error` came from a guarded body, else undefined. */
export function sourceErrorOf(error: unknown): AppError | undefined {
  return error instanceof SourceFailure ? coerceError(error.cause) : undefined;
}
