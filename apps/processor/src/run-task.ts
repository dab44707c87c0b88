/**
 * One processor task: its images one after another in one process
 * (README "Batch mode"). A batch execution of N images runs T ≤ N tasks and
 * task i takes ids i, i + T, i + 2T, … (config.ts), so the process start,
 * module loads and sharp/libvips initialisation are paid once per task, not
 * once per image; with T = N (and for a single image) a task has one image and
 * behaves exactly as a one-image task always did.
 *
 * Each image goes through run() and its policy (exit-policy.ts); across the
 * images:
 * - a failure of one image never stops the others; the task's exit status is
 *   the most urgent of theirs (`taskExitCode`), so one image that needs a
 *   retry makes Cloud Run retry the task;
 * - a retry attempt reads every job spec first: images settled by an earlier
 *   attempt are skipped on that one GET (never re-processed), images never
 *   started go first and those an earlier attempt started but did not finish
 *   (the spec's `begun`: `processing`, or a regeneration begun; it crashed,
 *   was killed or failed retryably) go last, so an image that kills the
 *   process cannot starve its siblings;
 * - SIGTERM stops the task: the image under way ends by the policy
 *   (`terminated`), the ones not begun are left to the retry, or after the
 *   last attempt to the workflow's backstop report.
 */
import { coerceError, type Logger } from '@slideshow/runtime';
import { createBackendClient } from './backend-client.ts';
import type { ProcessorConfig, TaskImage } from './config.ts';
import { type ExitCode, NOT_REACHED, type RunOutcome, taskExitCode } from './exit-policy.ts';
import { SETTLED_STATUSES, wasBegun } from './job-spec.ts';
import { type RunDeps, run } from './run.ts';

/** How one image of the task ended. */
export interface ImageOutcome {
  imageId: string;
  outcome: RunOutcome;
  exitCode: ExitCode;
}

/** What {@link runTask} returns; `main.ts` turns `exitCode` into the process status. */
export interface TaskResult {
  exitCode: ExitCode;
  /** The image's outcome for a one-image task; for several, the one that set the exit status. */
  outcome: RunOutcome;
  images: ImageOutcome[];
}

/** An image in the order this attempt takes it, with its job spec when it was read ahead. */
interface Planned {
  image: TaskImage;
  /** Read by the retry ordering and passed to run() only when it settles the image. */
  jobSpec?: unknown;
}

/** Runs every image of the task (config.images) and combines their outcomes. */
export async function runTask(config: ProcessorConfig, deps: RunDeps): Promise<TaskResult> {
  const plan = await order(config, deps);
  const images: ImageOutcome[] = [];
  for (const [position, { image, jobSpec }] of plan.entries()) {
    // An image's lines name that image alone: the task's list of ids (main.ts) would repeat
    // every id of a batch on each of them (undefined fields are left out of the JSON line).
    const log = deps.logger.child({
      imageIds: undefined,
      imageId: image.imageId,
      generation: image.generation,
    });
    if (deps.signal.aborted) {
      log.warn('task stopped before this image; left to the retry or the workflow backstop', {
        outcome: NOT_REACHED.outcome,
      });
      images.push({ imageId: image.imageId, ...NOT_REACHED });
      continue;
    }
    const cpuBefore = process.cpuUsage();
    const startedAt = performance.now();
    const result = await run(
      { ...config, imageId: image.imageId, generation: image.generation },
      { ...deps, logger: log, position, ...(jobSpec === undefined ? {} : { jobSpec }) },
    );
    const cpu = process.cpuUsage(cpuBefore);
    const memory = process.memoryUsage();
    log.info('image finished', {
      outcome: result.outcome,
      exitCode: result.exitCode,
      position,
      ms: Math.round(performance.now() - startedAt),
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      // Resident memory now and the task's peak so far: a batch task's memory must not grow
      // from one image to the next (README "Batch mode").
      rssMb: Math.round(memory.rss / 2 ** 20),
      maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      heapMb: Math.round(memory.heapUsed / 2 ** 20),
      externalMb: Math.round(memory.external / 2 ** 20),
    });
    images.push({ imageId: image.imageId, outcome: result.outcome, exitCode: result.exitCode });
  }
  const exitCode = taskExitCode(images.map((i) => i.exitCode));
  const deciding = images.find((i) => i.exitCode === exitCode) ?? images[0];
  return { exitCode, outcome: deciding?.outcome ?? 'already-done', images };
}

/**
 * The order this attempt takes its images in: slice order on a first attempt
 * (and for a single image); on a retry, never-begun images first and begun
 * ones last (see the file comment), each group in slice order.
 */
async function order(config: ProcessorConfig, deps: RunDeps): Promise<Planned[]> {
  if (config.attempt === 0 || config.images.length < 2) {
    return config.images.map((image) => ({ image }));
  }
  const log = deps.logger.child({ phase: 'order' });
  const backend = createBackendClient({
    baseUrl: config.backendUrl,
    credentials: deps.credentials,
    logger: log,
    deadlineMs: config.callbackDeadlineMs,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
  const fresh: Planned[] = [];
  const begun: Planned[] = [];
  // After one failed read the backend is likely unreachable: the rest keep slice order rather
  // than each spending a callback deadline here (run() then applies the policy to each).
  let readable = true;
  for (const image of config.images) {
    const jobSpec = readable ? await readAhead(backend, image, deps.signal, log) : undefined;
    if (jobSpec === undefined) readable = false;
    const fields = fieldsOf(jobSpec);
    const { status, generation } = fields;
    const moved = image.generation !== undefined && generation !== image.generation;
    if (status !== undefined && (SETTLED_STATUSES.has(status) || moved)) {
      // Settled, or another generation owns the image: run() ends it on this spec (no new GET).
      fresh.push({ image, jobSpec });
    } else if (status !== undefined && wasBegun(fields)) {
      begun.push({ image });
    } else {
      // Never begun, or unreadable now: run() reads it again and applies the policy.
      fresh.push({ image });
    }
  }
  log.info('retry order', {
    order: [...fresh, ...begun].map((p) => p.image.imageId),
    begunLast: begun.map((p) => p.image.imageId),
  });
  return [...fresh, ...begun];
}

/** Reads an image's job spec for the ordering; undefined when it cannot be read now. */
async function readAhead(
  backend: ReturnType<typeof createBackendClient>,
  image: TaskImage,
  signal: AbortSignal,
  log: Logger,
): Promise<unknown> {
  try {
    return await backend.jobSpec(image.imageId, { signal, generation: image.generation });
  } catch (thrown) {
    log.warn('could not read the job spec ahead; run() reads it again', {
      imageId: image.imageId,
      error: coerceError(thrown).message,
    });
    return undefined;
  }
}

/** The `status`, `begun` and `generation` of a job spec as read (run() checks the whole spec). */
function fieldsOf(jobSpec: unknown): { status?: string; begun?: boolean; generation?: number } {
  if (typeof jobSpec !== 'object' || jobSpec === null) return {};
  const { status, begun, generation } = jobSpec as Record<string, unknown>;
  return {
    ...(typeof status === 'string' ? { status } : {}),
    ...(typeof begun === 'boolean' ? { begun } : {}),
    ...(typeof generation === 'number' ? { generation } : {}),
  };
}
