/**
 * local-cloud configuration from the environment, validated once by zod at
 * start-up (the only place besides main.ts that reads process.env).
 */
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import * as z from 'zod';
import type { PinnedValue } from './run/job-policy.ts';

/** A JSON value in an environment variable, parsed then checked by `schema`. */
function json<T extends z.ZodType>(schema: T) {
  return z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: `not JSON: ${(error as Error).message}` });
        return z.NEVER;
      }
    })
    .pipe(schema);
}

const SECRET_ID = z.string().regex(/^[A-Za-z0-9_-]{1,255}$/);

const Fields = z.object({
  LOCAL_CLOUD_PORT: z.coerce.number().int().min(0).max(65535).default(8123),
  LOCAL_CLOUD_DATA_DIR: z.string().min(1).default('.data'),
  LOCAL_CLOUD_PROJECT: z.string().min(1).default('local-project'),
  LOCAL_CLOUD_LOCATION: z.string().min(1).default('us-central1'),
  /** Gone: the token is generated into `<data dir>/local-cloud.token`. Refused so nobody relies on it. */
  LOCAL_CLOUD_OAUTH_TOKEN: z
    .undefined({
      message:
        "is no longer read: local-cloud's token is generated into <LOCAL_CLOUD_DATA_DIR>/local-cloud.token",
    })
    .optional(),
  /** Command lines jobs may run, as JSON: [["node", "apps/processor/dist/processor.mjs"], …]. */
  LOCAL_CLOUD_JOB_COMMANDS: json(z.array(z.array(z.string()).min(1))).default([]),
  /** Secrets for job env `valueSource.secretKeyRef`, as JSON: {"callback-secret": "/path/to/file"}. */
  LOCAL_CLOUD_SECRET_FILES: json(z.record(SECRET_ID, z.string().min(1))).default({}),
  /**
   * Variables every job must set to these values, as JSON: a literal or a
   * registered secret, {"BACKEND_API_URL": "http://127.0.0.1:8080",
   * "CALLBACK_SECRET": {"secret": "callback-secret"}} (run/job-policy.ts).
   */
  LOCAL_CLOUD_JOB_PINNED_ENV: json(
    z.record(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/),
      z.union([z.string(), z.strictObject({ secret: SECRET_ID })]),
    ),
  ).default({}),
  /** Hosts tasks and workflow calls may reach besides loopback, comma-separated (`name`, `name:port`, `*`). */
  LOCAL_CLOUD_OUTBOUND_HOSTS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((h) => h.trim())
        .filter(Boolean),
    ),
  /** The local stand-in for Google OIDC tokens: the stack's callback secret. */
  LOCAL_CLOUD_OIDC_TOKEN: z.string().min(16).optional(),
  /** Working directory of job task processes (default: the current directory). */
  LOCAL_CLOUD_WORKDIR: z.string().min(1).optional(),
  LOCAL_CLOUD_KILL_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
  /** How long a deleted queue's name stays unusable; default Google's 7 days. */
  LOCAL_CLOUD_QUEUE_TOMBSTONE_MS: z.coerce.number().int().min(0).optional(),
  /** How long finished executions are kept (0: for ever); default 7 days (history.ts). */
  LOCAL_CLOUD_HISTORY_RETENTION_MS: z.coerce.number().int().min(0).optional(),
  /** Most job task processes at once (0: no limit); default: this machine's cores. */
  LOCAL_CLOUD_MAX_RUNNING_TASKS: z.coerce.number().int().min(0).default(availableParallelism()),
  LOG_LEVEL: z.enum(['DEBUG', 'INFO', 'WARNING', 'ERROR']).default('INFO'),
  STOP_WHEN_STDIN_CLOSES: z.enum(['0', '1']).default('0'),
  /** The gcloud wrapper's (gcloud.ts) configuration directory; default `<data dir>/gcloud-config`. */
  CLOUDSDK_CONFIG: z.string().min(1).optional(),
});

const Schema = Fields.superRefine((c, ctx) => {
  // A pin to a secret nobody registered would refuse every job: say so at start instead.
  for (const [name, value] of Object.entries(c.LOCAL_CLOUD_JOB_PINNED_ENV)) {
    if (typeof value !== 'string' && !Object.hasOwn(c.LOCAL_CLOUD_SECRET_FILES, value.secret)) {
      ctx.addIssue({
        code: 'custom',
        path: ['LOCAL_CLOUD_JOB_PINNED_ENV', name],
        message: `names secret ${value.secret}, which LOCAL_CLOUD_SECRET_FILES does not register`,
      });
    }
  }
});

/** Validated configuration. */
export interface LocalCloudConfig {
  port: number;
  dataDir: string;
  projectId: string;
  location: string;
  oidcToken?: string;
  jobCommands: string[][];
  /** Secret name → absolute path of the file holding it. */
  secretFiles: Record<string, string>;
  /** Variables every job must set to these values (run/job-policy.ts). */
  jobPinnedEnv: Record<string, PinnedValue>;
  outboundHosts: string[];
  workdir: string;
  killGraceMs: number;
  /** Deleted queue names stay unusable this long (undefined: Google's 7 days). */
  queueTombstoneMs?: number;
  maxRunningTasks: number;
  /** Finished executions are pruned after this long (undefined: 7 days; 0: never). */
  historyRetentionMs?: number;
  logLevel: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';
  /** Stop as on SIGTERM once stdin reaches its end (npm start's launcher holds the other end). */
  stopWhenStdinCloses: boolean;
  /** gcloud's configuration directory for the wrapper (gcloud.ts): never the user's own. */
  gcloudConfigDir: string;
}

/** Parses the environment; throws with every problem listed. */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
): LocalCloudConfig {
  const parsed = Schema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`Invalid local-cloud configuration: ${z.prettifyError(parsed.error)}`);
  }
  const c = parsed.data;
  const config: LocalCloudConfig = {
    port: c.LOCAL_CLOUD_PORT,
    dataDir: resolve(c.LOCAL_CLOUD_DATA_DIR),
    projectId: c.LOCAL_CLOUD_PROJECT,
    location: c.LOCAL_CLOUD_LOCATION,
    workdir: resolve(c.LOCAL_CLOUD_WORKDIR ?? '.'),
    killGraceMs: c.LOCAL_CLOUD_KILL_GRACE_MS,
    maxRunningTasks: c.LOCAL_CLOUD_MAX_RUNNING_TASKS,
    jobCommands: c.LOCAL_CLOUD_JOB_COMMANDS,
    secretFiles: Object.fromEntries(
      Object.entries(c.LOCAL_CLOUD_SECRET_FILES).map(([name, file]) => [name, resolve(file)]),
    ),
    jobPinnedEnv: c.LOCAL_CLOUD_JOB_PINNED_ENV,
    outboundHosts: c.LOCAL_CLOUD_OUTBOUND_HOSTS,
    logLevel: c.LOG_LEVEL,
    stopWhenStdinCloses: c.STOP_WHEN_STDIN_CLOSES === '1',
    gcloudConfigDir: resolve(c.CLOUDSDK_CONFIG ?? join(c.LOCAL_CLOUD_DATA_DIR, 'gcloud-config')),
  };
  if (c.LOCAL_CLOUD_OIDC_TOKEN) config.oidcToken = c.LOCAL_CLOUD_OIDC_TOKEN;
  if (c.LOCAL_CLOUD_QUEUE_TOMBSTONE_MS !== undefined) {
    config.queueTombstoneMs = c.LOCAL_CLOUD_QUEUE_TOMBSTONE_MS;
  }
  if (c.LOCAL_CLOUD_HISTORY_RETENTION_MS !== undefined) {
    config.historyRetentionMs = c.LOCAL_CLOUD_HISTORY_RETENTION_MS;
  }
  return config;
}

/** The host variables a job task process inherits (PATH to find commands, HOME, TMPDIR, LANG, TZ). */
export function hostEnvironment(): Record<string, string | undefined> {
  const { PATH, HOME, TMPDIR, LANG, TZ } = process.env;
  return { PATH, HOME, TMPDIR, LANG, TZ };
}
