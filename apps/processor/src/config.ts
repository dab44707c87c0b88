/**
 * The processor's environment, read once and validated by one zod schema
 * (docs/architecture.md#argument-and-environment). Every problem is listed in one error so a
 * misconfigured job
 * fails loudly on its first attempt instead of one variable at a time.
 */
import { AppError } from '@slideshow/runtime';
import * as z from 'zod/mini';
import { CALLBACK_DEFAULTS } from './backend-client.ts';

/** Where callback credentials come from. */
export const CALLBACK_AUTH_KINDS = ['google', 'shared-secret'] as const;
/** One of {@link CALLBACK_AUTH_KINDS}. */
export type CallbackAuthKind = (typeof CALLBACK_AUTH_KINDS)[number];

/** One image of a task, and the generation the workflow was started for. */
export interface TaskImage {
  imageId: string;
  /**
   * The generation the workflow was started for (TARGET_GENERATION, or
   * TARGET_GENERATIONS at the image's position); undefined for an execution
   * created before generations were passed. Every failure report names it.
   */
  generation: number | undefined;
}

/** The validated configuration of one processor task. */
export interface ProcessorConfig extends TaskImage {
  /**
   * The image run() works on: TARGET_FILE_ID, or TARGET_FILE_IDS at the task
   * index (the first of {@link images}); run-task.ts sets it to each image of
   * the slice in turn.
   */
  imageId: string;
  /**
   * This task's images in slice order: TARGET_FILE_ID alone, or in batch mode
   * the ids at positions i, i + T, i + 2T, … of TARGET_FILE_IDS (i the task
   * index, T the task count), each with its generation.
   */
  images: TaskImage[];
  /** Backend base URL without a trailing slash. */
  backendUrl: string;
  /** `gs://bucket` or `file:///abs/path`. */
  storageUrl: string;
  /** GCS JSON API endpoint override (an emulator). */
  gcsApiEndpoint: string | undefined;
  /** Must equal the job's `--max-retries`; Cloud Run does not expose it. */
  maxRetries: number;
  callbackAuth: CallbackAuthKind;
  callbackSecret: string | undefined;
  callbackAudience: string;
  /** Total time one callback may spend retrying (ms). */
  callbackDeadlineMs: number;
  job: string | undefined;
  execution: string | undefined;
  taskIndex: number;
  /** 0-based attempt of this task (CLOUD_RUN_TASK_ATTEMPT). */
  attempt: number;
  /**
   * Tasks of the execution (CLOUD_RUN_TASK_COUNT, which Cloud Run always
   * sets); unset, a batch task takes only the id at its index, one image per task.
   */
  taskCount: number;
  /** Overrides the preset named by the job spec (a deliberate operator choice). */
  imagingPreset: string | undefined;
  logLevel: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';
  /**
   * STOP_WHEN_STDIN_CLOSES=1 (set by local-cloud, which holds stdin's other end): the end of
   * stdin is a shutdown like local-cloud's SIGINT, so a task outlives no local-cloud killed hard.
   */
  stopWhenStdinCloses: boolean;
}

// zod/mini: the same validation as classic zod, but tree-shakable, so reading the
// environment does not cost the ~100 ms of evaluating all of classic zod at start-up
// (README "Start-up").
const optionalString = z.optional(z.string());
const integer = (fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z._default(
    z.coerce
      .number()
      .check(
        z.refine(Number.isInteger, 'must be an integer'),
        z.minimum(min, `must be at least ${min}`),
        z.maximum(max, `must be at most ${max}`),
      ),
    fallback,
  );

const EnvSchema = z.object({
  TARGET_FILE_ID: optionalString,
  TARGET_FILE_IDS: optionalString,
  TARGET_GENERATION: z.optional(
    z.string().check(z.regex(/^[0-9]{1,15}$/, 'must be a non-negative integer')),
  ),
  TARGET_GENERATIONS: z.optional(
    z
      .string()
      .check(
        z.regex(/^[0-9]{1,15}(,[0-9]{1,15})*$/, 'must be comma-separated non-negative integers'),
      ),
  ),
  BACKEND_API_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  GCS_BUCKET_NAME: z.optional(
    z.string().check(z.regex(/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/, 'must be a bucket name')),
  ),
  STORAGE_URL: z.optional(
    z.string().check(z.regex(/^(file:\/\/\/|gs:\/\/)./, 'must start with file:/// or gs://')),
  ),
  GCS_API_ENDPOINT: z.optional(z.url({ error: 'must be a URL' })),
  MAX_RETRIES: integer(3, 0),
  CALLBACK_AUTH: z._default(z.enum(CALLBACK_AUTH_KINDS), 'google'),
  CALLBACK_SECRET: optionalString,
  CALLBACK_AUDIENCE: optionalString,
  CALLBACK_DEADLINE_MS: integer(CALLBACK_DEFAULTS.deadlineMs, 0, 600_000),
  CLOUD_RUN_JOB: optionalString,
  CLOUD_RUN_EXECUTION: optionalString,
  CLOUD_RUN_TASK_INDEX: integer(0, 0),
  CLOUD_RUN_TASK_ATTEMPT: integer(0, 0),
  // No default: unset means one task per id (see ProcessorConfig.taskCount).
  CLOUD_RUN_TASK_COUNT: z.optional(
    z.coerce
      .number()
      .check(z.refine(Number.isInteger, 'must be an integer'), z.minimum(1, 'must be at least 1')),
  ),
  IMAGING_PRESET: optionalString,
  LOG_LEVEL: z._default(z.enum(['DEBUG', 'INFO', 'WARNING', 'ERROR']), 'INFO'),
  STOP_WHEN_STDIN_CLOSES: z._default(z.enum(['0', '1']), '0'),
});

/** Blank variables count as unset (Cloud Run console edits often leave them empty). */
function withoutBlanks(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== '') out[name] = value;
  }
  return out;
}

/** The checks that span several variables; they run even when single fields are invalid. */
function crossFieldProblems(raw: Record<string, string | undefined>): string[] {
  const get = (name: string) => {
    const v = raw[name]?.trim();
    return v === '' ? undefined : v;
  };
  const problems: string[] = [];
  if (get('TARGET_FILE_ID') && get('TARGET_FILE_IDS')) {
    problems.push('TARGET_FILE_ID: set TARGET_FILE_ID or TARGET_FILE_IDS, not both');
  }
  if (!get('TARGET_FILE_ID') && !get('TARGET_FILE_IDS')) {
    problems.push('TARGET_FILE_ID: one of TARGET_FILE_ID or TARGET_FILE_IDS is required');
  }
  if (get('TARGET_GENERATION') && !get('TARGET_FILE_ID')) {
    problems.push('TARGET_GENERATION: only with TARGET_FILE_ID (a batch uses TARGET_GENERATIONS)');
  }
  const generations = get('TARGET_GENERATIONS');
  if (generations && !get('TARGET_FILE_IDS')) {
    problems.push('TARGET_GENERATIONS: only with TARGET_FILE_IDS');
  }
  const index = Number(get('CLOUD_RUN_TASK_INDEX') ?? 0);
  const batch = get('TARGET_FILE_IDS');
  if (batch && generations && splitIds(generations).length !== splitIds(batch).length) {
    problems.push('TARGET_GENERATIONS: must have one generation per id of TARGET_FILE_IDS');
  }
  if (batch !== undefined && Number.isInteger(index) && index >= splitIds(batch).length) {
    problems.push(
      `CLOUD_RUN_TASK_INDEX: task index ${index} is past the ${splitIds(batch).length} ids of TARGET_FILE_IDS`,
    );
  }
  const count = get('CLOUD_RUN_TASK_COUNT');
  if (
    batch !== undefined &&
    count !== undefined &&
    Number.isInteger(index) &&
    index >= Number(count)
  ) {
    problems.push(
      `CLOUD_RUN_TASK_INDEX: task index ${index} is not below CLOUD_RUN_TASK_COUNT=${count}`,
    );
  }
  if (get('GCS_BUCKET_NAME') && get('STORAGE_URL')) {
    problems.push('STORAGE_URL: set GCS_BUCKET_NAME or STORAGE_URL, not both');
  }
  if (!get('GCS_BUCKET_NAME') && !get('STORAGE_URL')) {
    problems.push('GCS_BUCKET_NAME: one of GCS_BUCKET_NAME or STORAGE_URL is required');
  }
  if (get('CALLBACK_AUTH') === 'shared-secret' && !get('CALLBACK_SECRET')) {
    problems.push('CALLBACK_SECRET: required when CALLBACK_AUTH=shared-secret');
  }
  const attempt = Number(get('CLOUD_RUN_TASK_ATTEMPT') ?? 0);
  const maxRetries = Number(get('MAX_RETRIES') ?? 3);
  if (Number.isInteger(attempt) && Number.isInteger(maxRetries) && attempt > maxRetries) {
    problems.push(
      `CLOUD_RUN_TASK_ATTEMPT: attempt ${attempt} is past MAX_RETRIES=${maxRetries}; MAX_RETRIES must equal the job's --max-retries`,
    );
  }
  return problems;
}

function splitIds(list: string): string[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * Parses the environment (by default `process.env`) into a {@link ProcessorConfig}.
 * Throws AppError VALIDATION_FAILED naming every bad variable.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): ProcessorConfig {
  const parsed = z.safeParse(EnvSchema, withoutBlanks(env));
  const problems = [
    ...(parsed.error?.issues.map((i) => `${i.path.join('.') || 'env'}: ${i.message}`) ?? []),
    ...crossFieldProblems(env),
  ];
  if (!parsed.success || problems.length > 0) {
    throw new AppError(
      'VALIDATION_FAILED',
      `invalid processor environment: ${problems.join('; ')}`,
      {
        context: { problems },
      },
    );
  }
  const e = parsed.data;
  const ids =
    e.TARGET_FILE_ID !== undefined ? [e.TARGET_FILE_ID] : splitIds(e.TARGET_FILE_IDS ?? '');
  const generations =
    e.TARGET_GENERATION !== undefined
      ? [e.TARGET_GENERATION]
      : splitIds(e.TARGET_GENERATIONS ?? '');
  const taskCount = e.CLOUD_RUN_TASK_COUNT ?? (e.TARGET_FILE_ID !== undefined ? 1 : ids.length);
  const index = e.TARGET_FILE_ID !== undefined ? 0 : e.CLOUD_RUN_TASK_INDEX;
  const images: TaskImage[] = [];
  // Task i of T takes positions i, i + T, i + 2T, …: with T = N (one task per id) that is id i.
  for (let at = index; at < ids.length; at += taskCount) {
    const generation = generations[at];
    images.push({
      imageId: ids[at] ?? '',
      generation: generation === undefined ? undefined : Number(generation),
    });
  }
  const first = images[0] ?? { imageId: '', generation: undefined };
  const backendUrl = e.BACKEND_API_URL.replace(/\/+$/, '');
  return {
    imageId: first.imageId,
    generation: first.generation,
    images,
    backendUrl,
    storageUrl: e.STORAGE_URL ?? `gs://${e.GCS_BUCKET_NAME}`,
    gcsApiEndpoint: e.GCS_API_ENDPOINT,
    maxRetries: e.MAX_RETRIES,
    callbackAuth: e.CALLBACK_AUTH,
    callbackSecret: e.CALLBACK_SECRET,
    callbackAudience: e.CALLBACK_AUDIENCE ?? backendUrl,
    callbackDeadlineMs: e.CALLBACK_DEADLINE_MS,
    job: e.CLOUD_RUN_JOB,
    execution: e.CLOUD_RUN_EXECUTION,
    taskIndex: e.CLOUD_RUN_TASK_INDEX,
    attempt: e.CLOUD_RUN_TASK_ATTEMPT,
    taskCount,
    imagingPreset: e.IMAGING_PRESET,
    logLevel: e.LOG_LEVEL,
    stopWhenStdinCloses: e.STOP_WHEN_STDIN_CLOSES === '1',
  };
}
