/**
 * The Cloud Storage adapter of the LeaseStore port: one object, replaced by
 * conditional writes. `write` uploads with `ifGenerationMatch` (0 = must not
 * exist), which Cloud Storage evaluates atomically and answers 412 when
 * another write came first (https://cloud.google.com/storage/docs/request-preconditions,
 * "Avoid race conditions"); every successful upload gets a new, never reused
 * generation (https://cloud.google.com/storage/docs/metadata#generation-number).
 *
 * The record is the object's body (so `gcloud storage cat` shows it) and also
 * a custom metadata value, so `read` is one metadata request that returns the
 * record and its generation together.
 *
 * Requests are bounded: `timeoutMs` per request and at most one client-side
 * retry, because a lease decision that arrives after the lease's own deadline
 * is worthless; the lease retries on its own schedule instead. A conditional
 * upload retried by the client after its reply was lost answers 412; the lease
 * recognises its own record on the next read (lease.ts).
 */
import { Storage } from '@google-cloud/storage';
import { AppError, coerceError } from '@slideshow/runtime';
import { ABSENT, type LeaseRecord, LeaseRecordSchema, type LeaseStore } from './lease-store.ts';

/** Options for {@link createGcsLeaseStore}. */
export interface GcsLeaseStoreOptions {
  bucket: string;
  /** Object name of the lease, e.g. `slideshow.db.lease`. */
  object: string;
  /** Emulator base URL (`http://127.0.0.1:PORT`); production leaves it unset. */
  apiEndpoint?: string;
  /** Longest time for one request (default 5 s). */
  timeoutMs?: number;
  /** A client to reuse (tests). */
  storage?: Storage;
}

/** Metadata key holding the record. */
const METADATA_KEY = 'lease';

function statusOf(error: unknown): number | undefined {
  if (error instanceof Error && 'code' in error && typeof error.code === 'number')
    return error.code;
  return undefined;
}

function mapError(error: unknown, operation: string, object: string): AppError {
  if (error instanceof AppError) return error;
  const status = statusOf(error);
  const message = coerceError(error).message;
  const context = { object, operation, status };
  if (status === 412) {
    return new AppError('CONFLICT', `lease precondition failed on ${object}: ${message}`, {
      cause: error,
      context,
    });
  }
  if (status === 401 || status === 403) {
    return new AppError(
      'FORBIDDEN',
      `Cloud Storage refused ${operation} of the lease ${object} (${status}): ${message}`,
      {
        cause: error,
        context,
      },
    );
  }
  const retryable = status === undefined || status === 408 || status === 429 || status >= 500;
  return new AppError('STORAGE_UNAVAILABLE', `lease ${operation} of ${object} failed: ${message}`, {
    cause: error,
    retryable,
    context,
  });
}

/** Creates the Cloud Storage lease store. */
export function createGcsLeaseStore(options: GcsLeaseStoreOptions): LeaseStore {
  const timeout = options.timeoutMs ?? 5_000;
  const storage =
    options.storage ??
    new Storage({
      ...(options.apiEndpoint ? { apiEndpoint: options.apiEndpoint } : {}),
      projectIdRequired: false,
      timeout,
      retryOptions: { maxRetries: 1, totalTimeout: Math.ceil((timeout * 2) / 1000) },
    } as ConstructorParameters<typeof Storage>[0]);
  const bucket = storage.bucket(options.bucket);

  return {
    async read() {
      try {
        const [metadata] = await bucket.file(options.object).getMetadata();
        const raw = metadata.metadata?.[METADATA_KEY];
        if (typeof raw !== 'string' || metadata.generation === undefined) {
          throw new AppError(
            'CONFLICT',
            `the lease object ${options.object} has no lease record in its metadata; it was not written by this code`,
            { retryable: false, context: { object: options.object } },
          );
        }
        return {
          record: LeaseRecordSchema.parse(JSON.parse(raw)),
          generation: String(metadata.generation),
        };
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw mapError(error, 'read', options.object);
      }
    },
    async write(record: LeaseRecord, ifGeneration: string) {
      const body = JSON.stringify(LeaseRecordSchema.parse(record));
      const file = bucket.file(options.object);
      try {
        await file.save(body, {
          resumable: false,
          contentType: 'application/json',
          metadata: { cacheControl: 'no-store', metadata: { [METADATA_KEY]: body } },
          // GCS generations are microsecond timestamps (16 digits): exact in a double.
          preconditionOpts: {
            ifGenerationMatch: ifGeneration === ABSENT ? 0 : Number(ifGeneration),
          },
        });
      } catch (error) {
        throw mapError(error, 'write', options.object);
      }
      const generation = file.metadata.generation;
      if (generation === undefined) {
        throw new AppError(
          'STORAGE_UNAVAILABLE',
          `the lease upload of ${options.object} returned no generation`,
          {
            retryable: true,
            context: { object: options.object },
          },
        );
      }
      return String(generation);
    },
    async close() {},
  };
}
