/**
 * One image of a processor task: job spec → started → read the original →
 * imaging → write every variant → complete, and the error policy of
 * docs/architecture.md#who-retries-what:
 * a permanent error is reported as failed and exits 0 (no retries burned); a
 * retryable one exits non-zero so Cloud Run retries, reporting failed first
 * (best effort) when this is the final attempt.
 */
import type { CallbackCredentials } from '@slideshow/callback-auth';
import type { ImageResult, JobSpec } from '@slideshow/contracts';
import type { Preset } from '@slideshow/imaging';
import { AppError, coerceError, type Logger } from '@slideshow/runtime';
import type { ObjectReader, ObjectStore } from '@slideshow/storage';
import { type BackendClient, createBackendClient } from './backend-client.ts';
import type { ProcessorConfig } from './config.ts';
import { EXIT_CODES, type ExitCode, isFinalAttempt, type RunOutcome } from './exit-policy.ts';
import { fullJobSpec, SETTLED_STATUSES, type StartFields, startFields } from './job-spec.ts';
import { settleFailure } from './settle-failure.ts';

export { EXIT_CODES, type RunOutcome } from './exit-policy.ts';

/** What {@link run} returns; `main.ts` turns `exitCode` into the process status. */
export interface RunResult {
  exitCode: ExitCode;
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
  /**
   * Test seam: runs once `started` is acknowledged, before the original is
   * processed (the fault entry's `hang`, src/main-with-faults.ts). Production
   * passes none.
   */
  afterStarted?: (context: { imageId: string; log: Logger; signal: AbortSignal }) => Promise<void>;
  /**
   * The image's job spec as already read (a retry attempt's ordering pass,
   * run-task.ts): used instead of asking the backend again, so an image an
   * earlier attempt settled costs that one GET. Absent: run() reads it.
   */
  jobSpec?: unknown;
  /** Where this image is in its task's slice (0-based), for the logs. */
  position?: number;
}

/** `Cache-Control` of every variant: keys are content-addressed by id, preset and generation. */
export const VARIANT_CACHE_CONTROL = 'public, max-age=31536000, immutable';

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
  store: ObjectReader,
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

/** Where a task is, for the failure policy: its phase, and what the job spec said so far. */
interface Progress {
  phase: 'job-spec' | 'started' | 'read' | 'process' | 'complete';
  head?: StartFields;
  spec?: JobSpec;
}

/** What the steps of one task share. */
interface TaskContext {
  config: ProcessorConfig;
  deps: RunDeps;
  backend: BackendClient;
  logger: Logger;
  progress: Progress;
}

/** Processes the image named by `config.imageId` and reports the outcome to the backend. */
export async function run(config: ProcessorConfig, deps: RunDeps): Promise<RunResult> {
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
  const task: TaskContext = { config, deps, backend, logger, progress: { phase: 'job-spec' } };
  try {
    const begun = await begin(task);
    if ('outcome' in begun) return begun;
    return await processAndComplete(task, begun);
  } catch (thrown) {
    const { signal } = deps;
    const { phase, head, spec } = task.progress;
    const error = coerceError(signal.aborted ? (signal.reason ?? thrown) : thrown);
    return settleFailure({
      config,
      backend,
      log: logger.child({ phase, generation: head?.generation }),
      error,
      // The generation this task was started for, else the one the job spec named.
      generation: config.generation ?? head?.generation,
      variantPrefix: spec?.variantPrefix,
      final: isFinalAttempt(config),
      signal,
      store: deps.store,
    });
  }
}

/**
 * Job spec → checks → `started`, with the read of the original started
 * alongside: the work in flight, or how the task ends at once (a stale
 * generation, an image already settled).
 */
async function begin(task: TaskContext): Promise<RunResult | Begun> {
  const { config, backend, progress } = task;
  const { signal, store } = task.deps;
  const ids = { execution: config.execution, attempt: config.attempt };
  // Milliseconds since the process started (performance.timeOrigin): the
  // latency bench splits process start-up from the job-spec round trip.
  const jobSpecAt = performance.now();
  const raw =
    task.deps.jobSpec ??
    (await backend.jobSpec(config.imageId, { signal, generation: config.generation }));
  const jobSpecMs = performance.now() - jobSpecAt;
  const head = startFields(config.imageId, raw);
  progress.head = head;
  const log = task.logger.child({ generation: head.generation });
  if (config.generation !== undefined && head.generation !== config.generation) {
    // This task was started for another generation (a retry or the reaper dispatched a newer
    // one): that generation's own attempt does the work and reports; this one must not.
    log.warn('the image has another generation than this task was started for; stopping', {
      taskGeneration: config.generation,
    });
    return { exitCode: EXIT_CODES.ok, outcome: 'stale' };
  }
  if (SETTLED_STATUSES.has(head.status)) {
    log.info('image already settled; nothing to do', { status: head.status });
    return { exitCode: EXIT_CODES.ok, outcome: 'already-done' };
  }
  progress.phase = 'started';
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
    // For a batch task's later images (position > 0) these count from the process start too.
    position: task.deps.position ?? 0,
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
  const spec = await checking;
  progress.spec = spec;
  await task.deps.afterStarted?.({ imageId: config.imageId, log, signal });
  return { spec, reading, readStart, log };
}

/** The work `begin` started: the checked job spec and the read of the original under way. */
interface Begun {
  spec: JobSpec;
  reading: Promise<{ data: Buffer; sha256: string }>;
  /** When the read started (performance.now()). */
  readStart: number;
  log: Logger;
}

/** Checks the original, makes and writes every variant, and reports `complete`. */
async function processAndComplete(task: TaskContext, work: Begun): Promise<RunResult> {
  const { config, backend, progress } = task;
  const { signal, store } = task.deps;
  const { spec, log } = work;
  progress.phase = 'read';
  // Loading sharp and libvips blocks the main thread for tens of milliseconds (dlopen and
  // libvips init are synchronous), so it starts once the original's read is under way: the
  // read then proceeds on the thread pool (or the network) while the module loads.
  const imaging = import('@slideshow/imaging');
  settleLater(imaging, log);
  const original = await work.reading;
  const readMs = performance.now() - work.readStart;
  if (original.sha256 !== spec.sha256) {
    // Retryable: a short read is likelier than a changed object (keys are never reused).
    throw new AppError(
      'ORIGINAL_MISMATCH',
      `original ${spec.sourceKey} does not match its sha256`,
      {
        retryable: true,
        context: { expected: spec.sha256, actual: original.sha256, bytes: original.data.length },
      },
    );
  }
  log.info('original read', { bytes: original.data.length, readMs: Math.round(readMs) });

  progress.phase = 'process';
  const { processImage } = await imaging;
  // libvips' operation cache (sharp's default: 50 MB, 20 files, 100 operations) keeps
  // results for reuse by an identical later operation. A task's images never repeat one,
  // so in a batch task it would only carry memory from one image into the next (immich
  // turned it off for the same reason: github.com/immich-app/immich/pull/6542).
  // sharp is already loaded by @slideshow/imaging: this import costs nothing more.
  (await import('sharp')).default.cache(false);
  const presets = await presetsOf(spec, config);
  const prefix = spec.variantPrefix;
  let writeMs = 0;
  const cpuBefore = process.cpuUsage();
  const result: ImageResult = await processImage(original.data, {
    preset: config.imagingPreset ?? spec.preset,
    ...(presets ? { presets: presets.presets } : {}),
    signal,
    // What the variants leave out (an APNG's animation): the ImageResult has no place for it.
    onWarning: (warning) => log.warn(warning.message, { code: warning.code, ...warning.context }),
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

  progress.phase = 'complete';
  // CPU of this process (every thread, libvips' and libaom's included) while it made the
  // variants: the per-megapixel cost a regeneration's dry run estimates from.
  const cpuUsed = process.cpuUsage(cpuBefore);
  const cpu = Math.round((cpuUsed.user + cpuUsed.system) / 100) / 10;
  const timings = { ...result.timings, read: readMs, write: writeMs, cpu };
  await backend.complete(
    config.imageId,
    {
      generation: spec.generation,
      execution: config.execution,
      attempt: config.attempt,
      result: {
        ...result,
        timings,
        ...(presets?.version ? { presetVersion: presets.version } : {}),
      },
    },
    { signal },
  );
  log.info('image processed', { outcome: 'processed' });
  return { exitCode: EXIT_CODES.ok, outcome: 'processed' };
}

/**
 * The presets the job spec carries (the backend's preset file, its content
 * hash checked here), or undefined for a spec without them (an older backend,
 * or `IMAGING_PRESET` chose a preset of the processor's own file). A spec
 * whose presets do not validate or do not hash to its version is
 * VALIDATION_FAILED: permanent, and reported.
 */
async function presetsOf(
  spec: JobSpec,
  config: ProcessorConfig,
): Promise<{ presets: Record<string, Preset>; version: string } | undefined> {
  if (spec.presets === undefined || config.imagingPreset !== undefined) return undefined;
  const { closureVersion, parsePresetFile } = await import('@slideshow/imaging/presets');
  let set: ReturnType<typeof parsePresetFile>;
  try {
    set = parsePresetFile({ default: spec.preset, presets: stripNames(spec.presets) }, 'job spec');
  } catch (error) {
    // The backend validated these presets with its own copy of the schema, so a refusal here
    // almost always means version skew: a backend released with a preset field this older
    // processor does not know (docs/operations.md, "Presets and regeneration").
    const { message, context } = coerceError(error);
    throw new AppError(
      'VALIDATION_FAILED',
      `${message} — if a release added a preset field, this processor is older than the backend: deploy the processor, then retry the image`,
      { cause: error, context },
    );
  }
  const version = closureVersion(set.presets);
  if (spec.presetVersion !== undefined && version !== spec.presetVersion) {
    throw new AppError(
      'VALIDATION_FAILED',
      `the job spec's presets hash to ${version}, not to its presetVersion ${spec.presetVersion}`,
    );
  }
  return { presets: { ...set.presets }, version };
}

/** A closure as sent: each preset with its `name`; the file format keys them by name instead. */
function stripNames(closure: Record<string, Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(closure).map(([name, { name: _name, ...definition }]) => [name, definition]),
  );
}
