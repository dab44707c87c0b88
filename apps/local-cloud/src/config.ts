/**
 * local-cloud configuration from the environment, validated once by zod at
 * start-up (the only place besides main.ts that reads process.env).
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';

const Schema = z.object({
  LOCAL_CLOUD_PORT: z.coerce.number().int().min(0).max(65535).default(8123),
  LOCAL_CLOUD_DATA_DIR: z.string().min(1).default('.data'),
  LOCAL_CLOUD_PROJECT: z.string().min(1).default('local-project'),
  LOCAL_CLOUD_LOCATION: z.string().min(1).default('us-central1'),
  /** The local stand-in for Google OAuth access tokens; random per start when unset. */
  LOCAL_CLOUD_OAUTH_TOKEN: z.string().min(16).optional(),
  /** The local stand-in for Google OIDC tokens: the stack's callback secret. */
  LOCAL_CLOUD_OIDC_TOKEN: z.string().min(16).optional(),
  /** Working directory of job task processes (default: the current directory). */
  LOCAL_CLOUD_WORKDIR: z.string().min(1).optional(),
  LOCAL_CLOUD_KILL_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
  /** Most job task processes at once (0: no limit); default: this machine's cores. */
  LOCAL_CLOUD_MAX_RUNNING_TASKS: z.coerce.number().int().min(0).default(availableParallelism()),
  LOG_LEVEL: z.enum(['DEBUG', 'INFO', 'WARNING', 'ERROR']).default('INFO'),
});

/** Validated configuration. */
export interface LocalCloudConfig {
  port: number;
  dataDir: string;
  projectId: string;
  location: string;
  oauthToken?: string;
  oidcToken?: string;
  workdir: string;
  killGraceMs: number;
  maxRunningTasks: number;
  logLevel: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';
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
    logLevel: c.LOG_LEVEL,
  };
  if (c.LOCAL_CLOUD_OAUTH_TOKEN) config.oauthToken = c.LOCAL_CLOUD_OAUTH_TOKEN;
  if (c.LOCAL_CLOUD_OIDC_TOKEN) config.oidcToken = c.LOCAL_CLOUD_OIDC_TOKEN;
  return config;
}

/** The host variables a job task process inherits (PATH to find commands, HOME, TMPDIR, LANG, TZ). */
export function hostEnvironment(): Record<string, string | undefined> {
  const { PATH, HOME, TMPDIR, LANG, TZ } = process.env;
  return { PATH, HOME, TMPDIR, LANG, TZ };
}
