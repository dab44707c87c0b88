/**
 * The backend's environment variables: one zod schema, every variable with its
 * default, and the parse that lists every refused variable at once. What the
 * variables require of each other (production's must-haves) is config.ts.
 */
import { DEFAULT_LIMITS } from '@slideshow/imaging/header';
import { DEFAULT_LEASE_TIMING } from '@slideshow/lease';
import { AppError } from '@slideshow/runtime';
import * as z from 'zod';
import { ORPHAN_SWEEPER_DEFAULTS } from './orphan-sweeper.ts';
import { MAX_IMAGES_PER_EXECUTION, RELAY_DEFAULTS } from './outbox-relay.ts';
import { REAPER_DEFAULTS } from './reaper.ts';
import { REGEN_DEFAULTS } from './regen/regenerator.ts';
import { DEFAULT_IDLE_TIMEOUT_MS } from './request-body.ts';
import { DEFAULT_SERVER_TIMEOUTS } from './server-options.ts';
import { UPLOAD_SESSION_DEFAULTS } from './upload/upload-sessions.ts';

const blank = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const str = z.preprocess(blank, z.string().optional());
const int = (fallback: number, min = 0) =>
  z.preprocess(blank, z.coerce.number().int().min(min).default(fallback));
const list = z.preprocess(
  blank,
  z
    .string()
    .optional()
    .transform((v) =>
      (v ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
);

/**
 * Shortest admin token: a bearer token is the whole credential and wrong ones
 * are not throttled, so it must be unguessable — as long as CALLBACK_SECRET's
 * minimum; `npm start` and docs/deploy.md make 43 (32 random bytes, base64url).
 */
const MIN_ADMIN_TOKEN_LENGTH = 32;
const adminTokens = list.superRefine((tokens, ctx) => {
  tokens.forEach((token, i) => {
    if (token.length < MIN_ADMIN_TOKEN_LENGTH) {
      ctx.addIssue({
        code: 'custom',
        message: `token ${i + 1} of ${tokens.length} has ${token.length} characters; each must have at least ${MIN_ADMIN_TOKEN_LENGTH} (e.g. 32 random bytes in base64url, docs/deploy.md)`,
      });
    }
  });
});

const EnvSchema = z.object({
  MODE: z.preprocess(blank, z.enum(['local', 'production']).default('local')),
  PORT: int(8080, 0),
  HOST: str,
  DATA_DIR: z.preprocess(blank, z.string().default('.data')),
  DATABASE_PATH: str,
  PUBLIC_URL: z.preprocess(blank, z.url({ protocol: /^https?$/ }).optional()),
  STORAGE_URL: z.preprocess(
    blank,
    z
      .string()
      .regex(/^(file:\/\/|gs:\/\/)./, 'must start with file:// or gs://')
      .optional(),
  ),
  GCS_BUCKET_NAME: str,
  GCS_API_ENDPOINT: z.preprocess(blank, z.url().optional()),
  ADMIN_PASSWORD: str,
  ADMIN_PASSWORD_HASH: z.preprocess(
    blank,
    z.string().startsWith('scrypt$', 'must be an scrypt hash (src/hash-password.ts)').optional(),
  ),
  ADMIN_TOKENS: adminTokens,
  CALLBACK_AUTH: z.preprocess(blank, z.enum(['shared-secret', 'google']).optional()),
  CALLBACK_SECRET: z.preprocess(
    blank,
    z.string().min(32, 'must be at least 32 characters').optional(),
  ),
  CALLBACK_ALLOWED_EMAILS: list,
  CALLBACK_ALLOWED_SUBJECTS: list,
  DISPATCH: z.preprocess(
    blank,
    z.enum(['cloud-tasks', 'workflows', 'dry-run']).default('cloud-tasks'),
  ),
  GOOGLE_CLOUD_PROJECT: str,
  GOOGLE_CLOUD_LOCATION: str,
  CLOUD_TASKS_ENDPOINT: z.preprocess(blank, z.url().optional()),
  WORKFLOWS_ENDPOINT: z.preprocess(blank, z.url().optional()),
  EXECUTIONS_BASE_URL: z.preprocess(blank, z.url().optional()),
  LOCAL_CLOUD_TOKEN_FILE: str,
  UPLOADS_QUEUE: z.preprocess(blank, z.string().default('image-uploads')),
  INGEST_QUEUE: z.preprocess(blank, z.string().default('image-ingest')),
  WORKFLOW_NAME: z.preprocess(blank, z.string().default('process-image')),
  TASKS_SERVICE_ACCOUNT: str,
  // The processor checks every original against imaging's DEFAULT_LIMITS.maxBytes (it is given
  // no other limit): the backend may take less, never more, or a file it accepted would then
  // fail FILE_TOO_LARGE in the processor.
  MAX_UPLOAD_BYTES: z.preprocess(
    blank,
    z.coerce
      .number()
      .int()
      .min(1)
      .max(
        DEFAULT_LIMITS.maxBytes,
        `must be at most ${DEFAULT_LIMITS.maxBytes}, the processor's limit (DEFAULT_LIMITS.maxBytes, packages/imaging/src/limits.ts): a larger file would be accepted, then failed as FILE_TOO_LARGE`,
      )
      .default(DEFAULT_LIMITS.maxBytes),
  ),
  REQUEST_TIMEOUT_MS: int(DEFAULT_SERVER_TIMEOUTS.requestTimeoutMs, 1_000),
  HEADERS_TIMEOUT_MS: int(DEFAULT_SERVER_TIMEOUTS.headersTimeoutMs, 500),
  UPLOAD_IDLE_TIMEOUT_MS: int(DEFAULT_IDLE_TIMEOUT_MS, 200),
  UPLOAD_SESSION_TTL_MS: int(UPLOAD_SESSION_DEFAULTS.ttlMs, 60_000),
  // Cloud Run sends SIGKILL 10 s after SIGTERM: 5 s for requests leaves room for the
  // relay (1 s), Litestream's final sync (2 s) and the lease release (1 s), writer/single-writer.ts.
  SHUTDOWN_GRACE_MS: int(5_000, 0),
  LITESTREAM_BUCKET: str,
  LITESTREAM_CONFIG: z.preprocess(blank, z.string().default('/etc/litestream.yml')),
  LITESTREAM_BIN: z.preprocess(blank, z.string().default('litestream')),
  LEASE_URL: z.preprocess(
    blank,
    z
      .string()
      .regex(/^(file:\/\/\/|gs:\/\/[^/]+\/).+/, 'must be gs://BUCKET/OBJECT or file:///PATH')
      .optional(),
  ),
  LEASE_TTL_MS: z.preprocess(
    blank,
    z.coerce.number().int().min(3_000).max(120_000).default(DEFAULT_LEASE_TIMING.ttlMs),
  ),
  LEASE_WAIT_MS: z.preprocess(blank, z.coerce.number().int().min(0).optional()),
  /** Set by Cloud Run on every instance (the revision name); deploy identity for handovers. */
  K_REVISION: str,
  INGEST_BATCH_SIZE: z.preprocess(
    blank,
    z.coerce
      .number()
      .int()
      .min(1)
      .max(MAX_IMAGES_PER_EXECUTION)
      .default(RELAY_DEFAULTS.imagesPerExecution.ingest),
  ),
  INGEST_BATCH_WINDOW_MS: int(RELAY_DEFAULTS.batchWindowMs, 0),
  REAPER_INTERVAL_MS: int(REAPER_DEFAULTS.intervalMs, 1_000),
  STUCK_AFTER_MS: int(REAPER_DEFAULTS.stuckAfterMs, 1_000),
  ORPHAN_GRACE_MS: int(ORPHAN_SWEEPER_DEFAULTS.graceMs, 1_000),
  ORPHAN_SWEEP_INTERVAL_MS: int(ORPHAN_SWEEPER_DEFAULTS.intervalMs, 1_000),
  PRESETS_FILE: str,
  IMAGE_PRESET: str,
  REGEN_INTERVAL_MS: int(REGEN_DEFAULTS.intervalMs, 100),
  REGEN_RATE_PER_MINUTE: int(REGEN_DEFAULTS.ratePerMinute, 1),
  REGEN_MAX_IN_FLIGHT: int(REGEN_DEFAULTS.maxInFlight, 1),
  REGEN_MAX_EXECUTIONS_PER_RUN: int(REGEN_DEFAULTS.maxExecutionsPerRun, 1),
  REGEN_MAX_EXECUTIONS_PER_HOUR: int(REGEN_DEFAULTS.maxExecutionsPerHour, 1),
  REGEN_MAX_FAILURES: int(REGEN_DEFAULTS.maxFailures, 1),
  REGEN_GRACE_MS: int(REGEN_DEFAULTS.graceMs, 0),
  REGEN_STUCK_AFTER_MS: int(REGEN_DEFAULTS.stuckAfterMs, 1_000),
  REGEN_LOST_AFTER_MS: int(REGEN_DEFAULTS.lostAfterMs, 1_000),
  TRUSTED_PROXY_HOPS: z.preprocess(blank, z.coerce.number().int().min(0).max(10).optional()),
  PUBLIC_MEDIA_BASE_URL: str,
  LOG_LEVEL: z.preprocess(blank, z.enum(['DEBUG', 'INFO', 'WARNING', 'ERROR']).default('INFO')),
  STOP_WHEN_STDIN_CLOSES: z.preprocess(blank, z.enum(['0', '1']).default('0')),
});

/** The environment as the schema parsed it. */
export type Env = z.infer<typeof EnvSchema>;

/** The parsed environment; throws one AppError listing every variable the schema refuses. */
export function parseEnv(env: Record<string, string | undefined>): Env {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success)
    throw configError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  return parsed.data;
}

/** One AppError listing every configuration problem, each on its own line. */
export function configError(problems: string[]): AppError {
  return new AppError(
    'VALIDATION_FAILED',
    `invalid backend configuration:\n  - ${problems.join('\n  - ')}`,
    { context: { problems } },
  );
}
