/**
 * One processor task (issue 4): job spec → started → read the original →
 * imaging → write every variant → complete, and the error policy of DESIGN §4:
 * a permanent error is reported as failed and exits 0 (no retries burned); a
 * retryable one exits non-zero so Cloud Run retries, reporting failed first
 * (best effort) when this is the final attempt.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CallbackCredentials } from '@slideshow/callback-auth';
import type { ImageResult, JobSpec } from '@slideshow/contracts';
import { AppError, coerceError, type Logger } from '@slideshow/runtime';
import type { ObjectStore } from '@slideshow/storage';
import { type BackendClient, createBackendClient } from './backend-client.ts';
import { isFinalAttempt, type ProcessorConfig } from './config.ts';
import { fullJobSpec, type StartFields, startFields } from './job-spec.ts';

/** Exit statuses of the processor (README "Exit codes"). */
export const EXIT_CODES = {
  /** Processed, permanently failed and reported, or nothing to do. */
  ok: 0,
  /** Retryable failure (or a failure that could not be reported): Cloud Run retries. */
  retry: 1,
  /** The environment is invalid. */
  config: 2,
  /** Stopped by SIGTERM/SIGINT (128 + 15). */
  terminated: 143,
} as const;

/** How a task ended. */
export type RunOutcome =
  | 'processed'
  | 'already-done'
  | 'gone'
  | 'stale'
  | 'failed-permanent'
  | 'failed-unreported'
  | 'retryable'
  | 'terminated';

/** What {@link run} returns; `main.ts` turns `exitCode` into the process status. */
export interface RunResult {
  exitCode: number;
  outcome: RunOutcome;
  error?: AppError;
}

/** What {@link run} needs from the outside world. */
export interface RunDeps {
  store: ObjectStore;
  credentials: CallbackCredentials;
  fetch?: typeof fetch;
  logger: Logger;
  /** Aborted on SIGTERM: work stops at the next await. */
  signal: AbortSignal;
}

/** `Cache-Control` of every variant: keys are content-addressed by id, preset and generation. */
export const VARIANT_CACHE_CONTROL = 'public, max-age=31536000, immutable';

/** Time the best-effort failure report may take once SIGTERM arrived (Cloud Run kills at 10 s). */
const TERMINATION_REPORT_MS = 4_000;

/**
 * Marks a promise started ahead of its `await` as handled: its error still
 * surfaces where it is awaited, and if the task ends before that (a stale
 * generation, say) the rejection is logged instead of crashing the process.
 */
function settleLater(promise: Promise<unknown>, log: Logger): void {
  promise.catch((error: unknown) => {
    log.debug('work started ahead was abandoned', { error: coerceError(error) });
  });
}

/** Reads a whole object, hashing it on the way. */
async function readOriginal(
  store: ObjectStore,
  key: string,
  signal: AbortSignal,
): Promise<{ data: Buffer; sha256: string }> {
  const stream = await store.get(key);
  // Loaded on first use rather than imported: node:crypto is not needed before the read.
  const hash = process.getBuiltinModule('node:crypto').createHash('sha256');
  const chunks: Buffer[] = [];
  const onAbort = () => stream.destroy(signal.reason as Error);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of stream) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      hash.update(buffer);
      chunks.push(buffer);
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  signal.throwIfAborted();
  return { data: Buffer.concat(chunks), sha256: hash.digest('hex') };
}

/** Processes the image named by `config.imageId` and reports the outcome to the backend. */
export async function run(config: ProcessorConfig, deps: RunDeps): Promise<RunResult> {
  const { signal, store } = deps;
  const logger = deps.logger.child({
    imageId: config.imageId,
    execution: config.execution,
    attempt: config.attempt,
    taskIndex: config.taskIndex,
  });
  const backend = createBackendClient({
    baseUrl: config.backendUrl,
    credentials: deps.credentials,
    logger,
    deadlineMs: config.callbackDeadlineMs,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
  const final = isFinalAttempt(config);
  const ids = { execution: config.execution, attempt: config.attempt };
  let spec: JobSpec | undefined;
  let head: StartFields | undefined;
  let phase = 'job-spec';
  try {
    // Milliseconds since the process started (performance.timeOrigin): the
    // latency bench splits process start-up from the job-spec round trip.
    const jobSpecAt = performance.now();
    const raw = await backend.jobSpec(config.imageId, { signal });
    const jobSpecMs = performance.now() - jobSpecAt;
    head = startFields(config.imageId, raw);
    const log = logger.child({ generation: head.generation });
    if (config.generation !== undefined && head.generation !== config.generation) {
      // This task was started for another generation (a retry or the reaper dispatched a newer
      // one): that generation's own attempt does the work and reports; this one must not.
      log.warn('the image has another generation than this task was started for; stopping', {
        taskGeneration: config.generation,
      });
      return { exitCode: EXIT_CODES.ok, outcome: 'stale' };
    }
    if (head.status === 'processed' || head.status === 'failed') {
      log.info('image already settled; nothing to do', { status: head.status });
      return { exitCode: EXIT_CODES.ok, outcome: 'already-done' };
    }
    phase = 'started';
    const startedCall = backend.started(
      config.imageId,
      { generation: head.generation, ...ids },
      { signal },
    );
    // The read overlaps the `started` round trip and the full job-spec check; nothing is
    // processed before both pass. The start-up benchmark measures spawn → this line.
    const cpu = process.cpuUsage();
    log.info('reading original', {
      key: head.sourceKey,
      // CPU spent since the process started: the start-up benchmark's load-independent figure.
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      // Start-up (process start → job-spec request) and the job-spec round trip, for the latency bench.
      startupMs: Math.round(jobSpecAt),
      jobSpecMs: Math.round(jobSpecMs),
      sinceStartMs: Math.round(performance.now()),
    });
    const readStart = performance.now();
    const reading = readOriginal(store, head.sourceKey, signal);
    settleLater(reading, log);
    const checking = fullJobSpec(config.imageId, raw);
    settleLater(checking, log);
    await startedCall;
    spec = await checking;
    if (config.fault === 'hang') {
      log.warn('PROCESSOR_FAULT=hang: sleeping until terminated');
      await sleep(2 ** 31 - 1, undefined, { signal });
    }

    phase = 'read';
    // Loading sharp and libvips blocks the main thread for tens of milliseconds (dlopen and
    // libvips init are synchronous), so it starts once the original's read is under way: the
    // read then proceeds on the thread pool (or the network) while the module loads.
    const imaging = import('@slideshow/imaging');
    settleLater(imaging, log);
    const original = await reading;
    const readMs = performance.now() - readStart;
    if (original.sha256 !== spec.sha256) {
      // Retryable: a short read is likelier than a changed object (keys are never reused).
      throw new AppError(
        'STORAGE_UNAVAILABLE',
        `original ${spec.sourceKey} does not match its sha256`,
        {
          retryable: true,
          context: { expected: spec.sha256, actual: original.sha256, bytes: original.data.length },
        },
      );
    }
    log.info('original read', { bytes: original.data.length, readMs: Math.round(readMs) });

    phase = 'process';
    const { processImage } = await imaging;
    const prefix = spec.variantPrefix;
    let writeMs = 0;
    const result: ImageResult = await processImage(original.data, {
      preset: config.imagingPreset ?? spec.preset,
      signal,
      write: async (variant) => {
        const start = performance.now();
        await store.put(`${prefix}${variant.suffix}`, variant.data, {
          contentType: variant.contentType,
          cacheControl: VARIANT_CACHE_CONTROL,
          // An abort leaves no half-written object (the port's contract).
          signal,
        });
        writeMs += performance.now() - start;
      },
    });
    signal.throwIfAborted();
    log.info('variants written', {
      variants: result.variants.length,
      bytes: result.variants.reduce((sum, v) => sum + v.bytes, 0),
    });

    phase = 'complete';
    const timings = { ...result.timings, read: readMs, write: writeMs };
    await backend.complete(
      config.imageId,
      { generation: spec.generation, ...ids, result: { ...result, timings } },
      { signal },
    );
    log.info('image processed', { outcome: 'processed' });
    return { exitCode: EXIT_CODES.ok, outcome: 'processed' };
  } catch (thrown) {
    const error = coerceError(signal.aborted ? (signal.reason ?? thrown) : thrown);
    const log = logger.child({ phase, generation: head?.generation, code: error.code });
    return settleFailure({
      config,
      backend,
      log,
      error,
      // The generation this task was started for, else the one the job spec named.
      generation: config.generation ?? head?.generation,
      variantPrefix: spec?.variantPrefix,
      final,
      signal,
      store,
    });
  }
}

interface FailureContext {
  config: ProcessorConfig;
  backend: BackendClient;
  log: Logger;
  error: AppError;
  /** The generation this task worked on, once the job spec was read. */
  generation: number | undefined;
  variantPrefix: string | undefined;
  final: boolean;
  signal: AbortSignal;
  store: ObjectStore;
}

/** Applies the error policy to an error thrown by the task. */
async function settleFailure(ctx: FailureContext): Promise<RunResult> {
  const { error, log, config } = ctx;
  if (ctx.signal.aborted) {
    log.error('terminated before finishing', { error, final: ctx.final });
    if (ctx.final) await report(ctx, TERMINATION_REPORT_MS);
    return { exitCode: EXIT_CODES.terminated, outcome: 'terminated', error };
  }
  if (error.code === 'NOT_FOUND' && error.context.status === 404) {
    // The image was deleted: nothing to process; drop anything this attempt wrote.
    log.warn('image no longer exists; nothing to do', { error: error.message });
    if (ctx.variantPrefix) {
      await ctx.store.deletePrefix(ctx.variantPrefix).catch((e: unknown) => {
        log.warn('could not delete variants of a deleted image', { error: coerceError(e) });
      });
    }
    return { exitCode: EXIT_CODES.ok, outcome: 'gone', error };
  }
  if (error.code === 'STALE_GENERATION') {
    log.warn('a newer generation owns this image; stopping', { error: error.message });
    return { exitCode: EXIT_CODES.ok, outcome: 'stale', error };
  }
  if (error.retryable) {
    log.error('retryable failure', { error, final: ctx.final, maxRetries: config.maxRetries });
    if (ctx.final) await report(ctx, config.callbackDeadlineMs);
    return { exitCode: EXIT_CODES.retry, outcome: 'retryable', error };
  }
  log.error('permanent failure', { error });
  const reported = await report(ctx, config.callbackDeadlineMs);
  return reported
    ? { exitCode: EXIT_CODES.ok, outcome: 'failed-permanent', error }
    : { exitCode: EXIT_CODES.retry, outcome: 'failed-unreported', error };
}

/** POSTs `failed`; never throws. Returns whether the backend accepted the report. */
async function report(ctx: FailureContext, deadlineMs: number): Promise<boolean> {
  const { error, config } = ctx;
  if (ctx.generation === undefined) {
    // A report must name its generation, and this task learnt none (no TARGET_GENERATION and
    // no job spec): exiting non-zero leaves the verdict to a retry or the workflow's backstop.
    ctx.log.error('could not report the failure: the generation is unknown', { error });
    return false;
  }
  try {
    await ctx.backend.failed(
      config.imageId,
      {
        generation: ctx.generation,
        execution: config.execution,
        attempt: config.attempt,
        code: error.code,
        message: error.message.slice(0, 2000),
        source: 'processor',
      },
      { deadlineMs },
    );
    ctx.log.info('failure reported', { code: error.code });
    return true;
  } catch (thrown) {
    const reportError = coerceError(thrown);
    // A stale or deleted image needs no report: someone else owns the outcome.
    const moot = reportError.code === 'STALE_GENERATION' || reportError.context.status === 404;
    ctx.log[moot ? 'warn' : 'error']('could not report the failure', { error: reportError });
    return moot;
  }
}
