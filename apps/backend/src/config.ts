/**
 * The backend's environment, validated once by one zod schema that lists every
 * problem at once. Local mode needs no configuration at all: state under
 * `.data/`, SQLite at `.data/slideshow.db`, a generated admin password and
 * callback secret persisted there. Production requires what cannot be
 * defaulted safely (public URL, bucket, password hash, callback identities).
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUILT_IN_PRESETS } from '@slideshow/imaging/header';
import { loadPresetFile } from '@slideshow/imaging/presets';
import type { AppError } from '@slideshow/runtime';
import { configError, type Env, parseEnv } from './config-env.ts';
import { type BackendPresets, REGEN_DEFAULTS, type RegenSettings } from './regen/regenerator.ts';

/** The validated configuration. */
export interface BackendConfig {
  mode: 'local' | 'production';
  port: number;
  host: string;
  dataDir: string;
  databasePath: string;
  publicUrl: string | undefined;
  storageUrl: string;
  gcsApiEndpoint: string | undefined;
  /** Plain password (local, or production without a hash); hashed at start, never logged. */
  adminPassword: string | undefined;
  adminPasswordHash: string | undefined;
  adminTokens: string[];
  callbackAuth: 'shared-secret' | 'google';
  callbackSecret: string | undefined;
  callbackAllowedEmails: string[];
  /** Service-account unique IDs allowed to call back, matched against the token's `sub`. */
  callbackAllowedSubjects: string[];
  dispatch: 'cloud-tasks' | 'workflows' | 'dry-run';
  project: string;
  location: string;
  cloudTasksEndpoint: string | undefined;
  workflowsEndpoint: string | undefined;
  executionsBaseUrl: string | undefined;
  /**
   * local-cloud's token file: its content is the OAuth bearer the dispatch
   * clients send (local-cloud refuses calls without it). Local mode against
   * the default local-cloud: `<DATA_DIR>/local-cloud.token`.
   */
  localCloudTokenFile: string | undefined;
  queues: { uploads: string; ingest: string };
  workflow: string;
  tasksServiceAccount: string;
  maxUploadBytes: number;
  /** Node's `server.requestTimeout`: longest time to receive one whole request (then 408). */
  requestTimeoutMs: number;
  /** Node's `server.headersTimeout`: longest time to receive the request headers (then 408). */
  headersTimeoutMs: number;
  /** Longest silence from a client while its upload body is read (then 408 REQUEST_TIMEOUT). */
  uploadIdleTimeoutMs: number;
  /** How long a resumable upload session may take before the sweeper cancels it. */
  uploadSessionTtlMs: number;
  /** After SIGTERM, how long in-flight requests may run before their connections are closed. */
  shutdownGraceMs: number;
  /** Litestream replication of the database (production); undefined: no replication. */
  litestream: { bucket: string; configPath: string; bin: string } | undefined;
  /** The single-writer lease (docs/deploy.md "One writer: the database lease"). */
  lease: {
    /** `gs://bucket/object` (next to the replica) or `file:///path` (local mode). */
    url: string;
    ttlMs: number;
    /** How long a starting instance waits for the lease before it gives up (exit 1). */
    waitMs: number;
    /** Cloud Run's K_REVISION; a new revision asks the holder of another revision to hand over. */
    revision: string | null;
  };
  /** Images per ingest workflow execution (docs/operations.md, "Batch ingest"). */
  ingestBatchSize: number;
  /** Longest wait of an ingested image for its batch to fill. */
  ingestBatchWindowMs: number;
  reaperIntervalMs: number;
  stuckAfterMs: number;
  /** Stored objects with no image row are deleted once this old (orphan-sweeper.ts). */
  orphanGraceMs: number;
  orphanSweepIntervalMs: number;
  /** Proxies that append to X-Forwarded-For (auth/client-address.ts): 1 in production, 0 locally. */
  trustedProxyHops: number;
  publicMediaBaseUrl: string;
  /** The preset file (PRESETS_FILE, else the repository's) and the chosen preset (IMAGE_PRESET, else its default). */
  presets: BackendPresets;
  /** Regeneration policy (REGEN_*; regen/regenerator.ts). */
  regen: RegenSettings;
  logLevel: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';
  /**
   * Stop as on SIGTERM once stdin reaches its end: npm start holds the other end, so a
   * launcher killed hard (SIGKILL, a crash) still takes its stack with it.
   */
  stopWhenStdinCloses: boolean;
}

/**
 * What the mode and the chosen adapters require besides each variable's own
 * schema: production's must-haves, the callback audience and allow-lists,
 * the Cloud Tasks service account. Every problem at once.
 */
function settingsRequiredTogether(
  e: Env,
  storageUrl: string | undefined,
  callbackAuth: BackendConfig['callbackAuth'],
): string[] {
  const problems: string[] = [];
  const local = e.MODE === 'local';
  const need = (name: string, value: unknown, why: string) => {
    if (value === undefined || (Array.isArray(value) && value.length === 0))
      problems.push(`${name}: required ${why}`);
  };
  if (!local) {
    need('PUBLIC_URL', e.PUBLIC_URL, 'in production (it is the callback audience)');
    need('STORAGE_URL or GCS_BUCKET_NAME', storageUrl, 'in production');
    if (!e.ADMIN_PASSWORD_HASH && !e.ADMIN_PASSWORD)
      problems.push('ADMIN_PASSWORD_HASH: required in production');
    need('GOOGLE_CLOUD_PROJECT', e.GOOGLE_CLOUD_PROJECT, 'in production');
    need('GOOGLE_CLOUD_LOCATION', e.GOOGLE_CLOUD_LOCATION, 'in production');
    need(
      'PUBLIC_MEDIA_BASE_URL',
      e.PUBLIC_MEDIA_BASE_URL,
      'in production (where variants are served)',
    );
  }
  if (callbackAuth === 'google') {
    // The workflow's OIDC token may carry no email, only `sub` (packages/callback-auth README).
    need(
      'CALLBACK_ALLOWED_EMAILS or CALLBACK_ALLOWED_SUBJECTS',
      [...e.CALLBACK_ALLOWED_EMAILS, ...e.CALLBACK_ALLOWED_SUBJECTS],
      'with CALLBACK_AUTH=google',
    );
    const notIds = e.CALLBACK_ALLOWED_SUBJECTS.filter((s) => !/^[0-9]+$/.test(s));
    if (notIds.length > 0) {
      problems.push(
        `CALLBACK_ALLOWED_SUBJECTS: expected service account unique IDs (digits) but received ${notIds.join(', ')}`,
      );
    }
    need('PUBLIC_URL', e.PUBLIC_URL, 'with CALLBACK_AUTH=google (the token audience)');
  }
  if (callbackAuth === 'shared-secret' && !local) {
    need('CALLBACK_SECRET', e.CALLBACK_SECRET, 'with CALLBACK_AUTH=shared-secret in production');
  }
  if (e.DISPATCH === 'cloud-tasks' && !local) {
    need(
      'TASKS_SERVICE_ACCOUNT',
      e.TASKS_SERVICE_ACCOUNT,
      'with DISPATCH=cloud-tasks in production',
    );
  }
  return problems;
}

/** Where state lives: the data folder, the object store (undefined when production names none), the database. */
function statePaths(e: Env, cwd: string) {
  const local = e.MODE === 'local';
  const dataDir = isAbsolute(e.DATA_DIR) ? e.DATA_DIR : resolve(cwd, e.DATA_DIR);
  const storageUrl =
    e.STORAGE_URL ??
    (e.GCS_BUCKET_NAME ? `gs://${e.GCS_BUCKET_NAME}` : undefined) ??
    (local ? pathToFileURL(resolve(dataDir, 'storage')).href : undefined);
  const databasePath = e.DATABASE_PATH
    ? resolve(cwd, e.DATABASE_PATH)
    : resolve(dataDir, 'slideshow.db');
  return { dataDir, storageUrl, databasePath };
}

/**
 * The preset file (PRESETS_FILE, else the built-in one) and the chosen preset;
 * undefined when either is wrong, with the reasons pushed onto `problems` (the
 * preset file is configuration too: its problems are listed with the rest).
 */
function presetsOf(e: Env, cwd: string, problems: string[]): BackendPresets | undefined {
  try {
    const set = e.PRESETS_FILE ? loadPresetFile(resolve(cwd, e.PRESETS_FILE)) : BUILT_IN_PRESETS;
    const current = e.IMAGE_PRESET ?? set.default;
    if (Object.hasOwn(set.presets, current)) return { set, current };
    problems.push(
      `IMAGE_PRESET: ${JSON.stringify(current)} is not a preset of ${set.source} (${Object.keys(set.presets).join(', ')})`,
    );
  } catch (error) {
    const listed = (error as AppError).context?.problems;
    if (Array.isArray(listed)) {
      for (const p of listed) problems.push(`PRESETS_FILE ${e.PRESETS_FILE}: ${String(p)}`);
    } else problems.push(`PRESETS_FILE: ${(error as Error).message}`);
  }
  return undefined;
}

/** Where dispatches go: the Google project, the endpoints (local-cloud's in local mode), queues, workflow and invoker. */
function dispatchSettings(e: Env, cwd: string, dataDir: string) {
  const local = e.MODE === 'local';
  const project = e.GOOGLE_CLOUD_PROJECT ?? 'local-project';
  const localCloud = 'http://127.0.0.1:8123';
  return {
    dispatch: e.DISPATCH,
    project,
    location: e.GOOGLE_CLOUD_LOCATION ?? 'us-central1',
    cloudTasksEndpoint: e.CLOUD_TASKS_ENDPOINT ?? (local ? localCloud : undefined),
    workflowsEndpoint: e.WORKFLOWS_ENDPOINT ?? (local ? localCloud : undefined),
    executionsBaseUrl: e.EXECUTIONS_BASE_URL ?? (local ? localCloud : undefined),
    localCloudTokenFile: e.LOCAL_CLOUD_TOKEN_FILE
      ? resolve(cwd, e.LOCAL_CLOUD_TOKEN_FILE)
      : local && !e.CLOUD_TASKS_ENDPOINT && !e.WORKFLOWS_ENDPOINT && !e.EXECUTIONS_BASE_URL
        ? resolve(dataDir, 'local-cloud.token')
        : undefined,
    queues: { uploads: e.UPLOADS_QUEUE, ingest: e.INGEST_QUEUE },
    workflow: e.WORKFLOW_NAME,
    tasksServiceAccount:
      e.TASKS_SERVICE_ACCOUNT ?? `tasks-invoker@${project}.iam.gserviceaccount.com`,
  } satisfies Partial<BackendConfig>;
}

/** The single-writer lease: next to the replica when Litestream replicates, else next to the database. */
function leaseSettings(e: Env, databasePath: string): BackendConfig['lease'] {
  return {
    url:
      e.LEASE_URL ??
      (e.LITESTREAM_BUCKET
        ? `gs://${e.LITESTREAM_BUCKET}/slideshow.db.lease`
        : pathToFileURL(`${databasePath}.lease`).href),
    ttlMs: e.LEASE_TTL_MS,
    // Production: just under the startup probe's 240 s, so the instance says why before Cloud Run kills it.
    waitMs: e.LEASE_WAIT_MS ?? (e.MODE === 'local' ? 2 * e.LEASE_TTL_MS : 225_000),
    revision: e.K_REVISION ?? null,
  };
}

/** The regeneration policy (REGEN_*). */
function regenSettings(e: Env): RegenSettings {
  return {
    intervalMs: e.REGEN_INTERVAL_MS,
    ratePerMinute: e.REGEN_RATE_PER_MINUTE,
    maxInFlight: e.REGEN_MAX_IN_FLIGHT,
    maxExecutionsPerRun: e.REGEN_MAX_EXECUTIONS_PER_RUN,
    maxExecutionsPerHour: e.REGEN_MAX_EXECUTIONS_PER_HOUR,
    maxFailures: e.REGEN_MAX_FAILURES,
    graceMs: e.REGEN_GRACE_MS,
    stuckAfterMs: e.REGEN_STUCK_AFTER_MS,
    lostAfterMs: e.REGEN_LOST_AFTER_MS,
    lostCheckEveryMs: REGEN_DEFAULTS.lostCheckEveryMs,
  };
}

/** Parses `env` (process.env by default); throws one AppError naming every problem. */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  cwd: string = process.cwd(),
): BackendConfig {
  const e = parseEnv(env);
  const local = e.MODE === 'local';
  const { dataDir, storageUrl, databasePath } = statePaths(e, cwd);
  const callbackAuth = e.CALLBACK_AUTH ?? (local ? 'shared-secret' : 'google');
  const problems = settingsRequiredTogether(e, storageUrl, callbackAuth);
  const presets = presetsOf(e, cwd, problems);
  if (problems.length > 0 || storageUrl === undefined || presets === undefined)
    throw configError([...new Set(problems)]);
  return {
    mode: e.MODE,
    port: e.PORT,
    host: e.HOST ?? (local ? '127.0.0.1' : '0.0.0.0'),
    dataDir,
    databasePath,
    publicUrl: e.PUBLIC_URL,
    storageUrl,
    gcsApiEndpoint: e.GCS_API_ENDPOINT,
    adminPassword: e.ADMIN_PASSWORD,
    adminPasswordHash: e.ADMIN_PASSWORD_HASH,
    adminTokens: e.ADMIN_TOKENS,
    callbackAuth,
    callbackSecret: e.CALLBACK_SECRET,
    callbackAllowedEmails: e.CALLBACK_ALLOWED_EMAILS,
    callbackAllowedSubjects: e.CALLBACK_ALLOWED_SUBJECTS,
    ...dispatchSettings(e, cwd, dataDir),
    maxUploadBytes: e.MAX_UPLOAD_BYTES,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    headersTimeoutMs: e.HEADERS_TIMEOUT_MS,
    uploadIdleTimeoutMs: e.UPLOAD_IDLE_TIMEOUT_MS,
    uploadSessionTtlMs: e.UPLOAD_SESSION_TTL_MS,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    litestream: e.LITESTREAM_BUCKET
      ? { bucket: e.LITESTREAM_BUCKET, configPath: e.LITESTREAM_CONFIG, bin: e.LITESTREAM_BIN }
      : undefined,
    lease: leaseSettings(e, databasePath),
    ingestBatchSize: e.INGEST_BATCH_SIZE,
    ingestBatchWindowMs: e.INGEST_BATCH_WINDOW_MS,
    reaperIntervalMs: e.REAPER_INTERVAL_MS,
    stuckAfterMs: e.STUCK_AFTER_MS,
    orphanGraceMs: e.ORPHAN_GRACE_MS,
    orphanSweepIntervalMs: e.ORPHAN_SWEEP_INTERVAL_MS,
    trustedProxyHops: e.TRUSTED_PROXY_HOPS ?? (local ? 0 : 1),
    publicMediaBaseUrl: e.PUBLIC_MEDIA_BASE_URL ?? '/media/',
    presets,
    regen: regenSettings(e),
    logLevel: e.LOG_LEVEL,
    stopWhenStdinCloses: e.STOP_WHEN_STDIN_CLOSES === '1',
  };
}
