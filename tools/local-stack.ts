/**
 * Starts the whole pipeline on one machine, with the same code paths as
 * production: local-cloud (Cloud Tasks, Workflows + Executions, Cloud Run jobs
 * on loopback) and the backend as child processes; then creates the two
 * queues, deploys the real workflow YAML and registers the processor job
 * through local-cloud's REST APIs, exactly as scripts/setup does with gcloud.
 * Every call to local-cloud carries its token (`<dataDir>/local-cloud.token`,
 * written by local-cloud at first start); local-cloud runs only the processor
 * command line registered here, and the processor's CALLBACK_SECRET is a
 * Secret Manager reference resolved from `<dataDir>/callback-secret`.
 *
 * Used by `npm start` (tools/start-local.ts) and by the end-to-end tests.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readJobLimits } from './job-limits.ts';
import { processorPinnedEnv, provision, type QueueId, type QueueRates } from './local-provision.ts';
import { repoRoot } from './shared-dir.ts';
import {
  type Child,
  type ChildOutput,
  createSupervision,
  ensurePortFree,
  freePort,
  type LogFailure,
  startChild,
  stopChild,
  type UnexpectedExit,
  waitForChild,
} from './stack-children.ts';

/** Options for {@link startLocalStack}. */
export interface LocalStackOptions {
  /** State folder (SQLite files, stored objects, secrets, logs). */
  dataDir: string;
  /** 0 picks a free port. */
  localCloudPort?: number;
  backendPort?: number;
  projectId?: string;
  location?: string;
  /** Job settings (Cloud Run `maxRetries`, task timeout); default: deploy/job-limits.env. */
  maxRetries?: number;
  taskTimeoutSeconds?: number;
  /** Extra environment for every processor task. */
  processorEnv?: Record<string, string>;
  /**
   * Entries (relative to the repository root) that replace the production ones:
   * the fault tests' `apps/{backend,processor}/src/main-with-faults.ts`, the only
   * code that honours STORAGE_FAULTS and PROCESSOR_FAULT. Default: the
   * backend's src/main.ts and the processor's bundle, as in production.
   */
  entries?: { backend?: string; processor?: string };
  /** Extra environment for the backend. */
  backendEnv?: Record<string, string>;
  /** Extra environment for local-cloud. */
  localCloudEnv?: Record<string, string>;
  /** Rate limits replacing the defaults of a queue (e.g. a throttled queue for reaper tests). */
  queueRates?: Partial<Record<QueueId, QueueRates>>;
  /** The admin password (default: generated once and kept in `${dataDir}/admin-password`). */
  adminPassword?: string;
  /** Where child output goes besides the log files (default: nowhere). */
  echo?: (name: string, line: string) => void;
  /** Size at which each `logs/<service>.log` turns over to `.log.1` (default 16 MiB, rotating-log.ts). */
  logMaxBytes?: number;
}

/** A running local stack. */
export interface LocalStack {
  backendUrl: string;
  localCloudUrl: string;
  projectId: string;
  location: string;
  /** `projects/P/locations/L`, where every emulated resource lives. */
  parent: string;
  dataDir: string;
  adminToken: string;
  adminPassword: string;
  callbackSecret: string;
  /** local-cloud's token (every call to it needs `Authorization: Bearer <token>`). */
  localCloudToken: string;
  /** The file holding it, e.g. for gcloud's CLOUDSDK_AUTH_ACCESS_TOKEN_FILE. */
  localCloudTokenFile: string;
  /** Calls local-cloud's REST API with its token. */
  localCloud(path: string, init?: RequestInit): Promise<Response>;
  /** Stops local-cloud (SIGTERM, or SIGKILL with `hard`) and starts it again on the same port and data. */
  restartLocalCloud(options?: { hard?: boolean }): Promise<void>;
  /** Stops the backend and starts it again on the same port and data. */
  restartBackend(options?: { hard?: boolean }): Promise<void>;
  /** Calls the backend's admin API with the bearer token. */
  admin(path: string, init?: RequestInit): Promise<Response>;
  /**
   * Resolves when local-cloud or the backend exits after it was ready without being asked
   * to (a crash, out of memory, a kill): not in {@link stop} nor in a restart.
   */
  unexpectedExit: Promise<UnexpectedExit>;
  /**
   * Resolves when a server's log file cannot be written (a full disk, an I/O error, a
   * read-only filesystem): from then on its lines reach no file, so the stack should stop.
   */
  logFailure: Promise<LogFailure>;
  /** Stops every process this stack started. */
  stop(): Promise<void>;
}

/** Reads a secret from the data folder, creating it on first use, so a second run keeps it. */
function persistentSecret(dataDir: string, name: string, bytes = 24): string {
  const file = join(dataDir, name);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const value = randomBytes(bytes).toString('base64url');
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return value;
}

/** The production entries; {@link LocalStackOptions.entries} replaces them in fault tests. */
const ENTRIES = {
  backend: 'apps/backend/src/main.ts',
  processor: 'apps/processor/dist/processor.mjs',
} as const;

/** The processor's command line: the only one local-cloud is told to run. */
function processorCommand(entry: string): string[] {
  return [process.execPath, resolve(repoRoot, entry)];
}

/** Where the stack lives and what it is called: ports, URLs, secrets and job limits. */
interface StackSettings {
  dataDir: string;
  logDir: string;
  projectId: string;
  location: string;
  parent: string;
  localCloudPort: number;
  backendPort: number;
  localCloudUrl: string;
  backendUrl: string;
  callbackSecret: string;
  /** Written by local-cloud at its first start; read once it answers. */
  localCloudTokenFile: string;
  adminToken: string;
  adminPassword: string;
  maxRetries: number;
  taskTimeoutSeconds: number;
  processor: string[];
}

/** The settings of {@link startLocalStack}: options, else free ports, persisted secrets and deploy/job-limits.env. */
async function stackSettings(options: LocalStackOptions): Promise<StackSettings> {
  const dataDir = resolve(options.dataDir);
  const logDir = join(dataDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const projectId = options.projectId ?? 'local-project';
  const location = options.location ?? 'us-central1';
  // Ports given explicitly must be free: never talk to (and re-provision) a stack this did not start.
  if (options.localCloudPort) await ensurePortFree('local-cloud', options.localCloudPort);
  if (options.backendPort) await ensurePortFree('backend', options.backendPort);
  const localCloudPort = options.localCloudPort || (await freePort());
  const backendPort = options.backendPort || (await freePort());
  // deploy/job-limits.env: the same limits as the Cloud Run job in production.
  const limits = readJobLimits();
  return {
    dataDir,
    logDir,
    projectId,
    location,
    parent: `projects/${projectId}/locations/${location}`,
    localCloudPort,
    backendPort,
    localCloudUrl: `http://127.0.0.1:${localCloudPort}`,
    backendUrl: `http://127.0.0.1:${backendPort}`,
    callbackSecret: persistentSecret(dataDir, 'callback-secret', 32),
    localCloudTokenFile: join(dataDir, 'local-cloud.token'),
    adminToken: persistentSecret(dataDir, 'admin-token', 32),
    adminPassword: options.adminPassword || persistentSecret(dataDir, 'admin-password', 12),
    maxRetries: options.maxRetries ?? limits.maxRetries,
    taskTimeoutSeconds: options.taskTimeoutSeconds ?? limits.taskTimeoutSeconds,
    processor: processorCommand(options.entries?.processor ?? ENTRIES.processor),
  };
}

/** local-cloud's environment (before the caller's additions). */
function localCloudEnvironment(stack: StackSettings): Record<string, string> {
  return {
    LOCAL_CLOUD_PORT: String(stack.localCloudPort),
    LOCAL_CLOUD_DATA_DIR: stack.dataDir,
    LOCAL_CLOUD_PROJECT: stack.projectId,
    LOCAL_CLOUD_LOCATION: stack.location,
    // The workflow's `auth: {type: OIDC}` call to the backend carries this locally.
    LOCAL_CLOUD_OIDC_TOKEN: stack.callbackSecret,
    LOCAL_CLOUD_WORKDIR: repoRoot,
    LOCAL_CLOUD_JOB_COMMANDS: JSON.stringify([stack.processor]),
    LOCAL_CLOUD_SECRET_FILES: JSON.stringify({
      'callback-secret': join(stack.dataDir, 'callback-secret'),
    }),
    // No job or override may send the callback secret elsewhere or point the store elsewhere.
    LOCAL_CLOUD_JOB_PINNED_ENV: JSON.stringify({
      ...processorPinnedEnv(stack),
      CALLBACK_SECRET: { secret: 'callback-secret' },
    }),
  };
}

/** The backend's environment in local mode, dispatching through local-cloud (before the caller's additions). */
function backendEnvironment(stack: StackSettings): Record<string, string> {
  return {
    MODE: 'local',
    PORT: String(stack.backendPort),
    HOST: '127.0.0.1',
    DATA_DIR: stack.dataDir,
    PUBLIC_URL: stack.backendUrl,
    ADMIN_PASSWORD: stack.adminPassword,
    ADMIN_TOKENS: stack.adminToken,
    CALLBACK_AUTH: 'shared-secret',
    CALLBACK_SECRET: stack.callbackSecret,
    DISPATCH: 'cloud-tasks',
    GOOGLE_CLOUD_PROJECT: stack.projectId,
    GOOGLE_CLOUD_LOCATION: stack.location,
    CLOUD_TASKS_ENDPOINT: stack.localCloudUrl,
    WORKFLOWS_ENDPOINT: stack.localCloudUrl,
    EXECUTIONS_BASE_URL: stack.localCloudUrl,
    LOCAL_CLOUD_TOKEN_FILE: stack.localCloudTokenFile,
    METADATA_SERVER_DETECTION: 'none',
  };
}

/** Calls `baseUrl` + a path with `Authorization: Bearer <token>`. */
function withBearer(
  baseUrl: string,
  token: string,
): (path: string, init?: RequestInit) => Promise<Response> {
  return async (path, init = {}) => {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${token}`);
    return await fetch(`${baseUrl}${path}`, { ...init, headers });
  };
}

/** Starts local-cloud and the backend, provisions them, and returns handles. */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const settings = await stackSettings(options);
  const {
    dataDir,
    logDir,
    projectId,
    location,
    parent,
    localCloudPort,
    backendPort,
    localCloudUrl,
    backendUrl,
    callbackSecret,
    localCloudTokenFile,
    adminToken,
    adminPassword,
  } = settings;
  const localCloudEnv = { ...localCloudEnvironment(settings), ...options.localCloudEnv };
  const backendEnv = { ...backendEnvironment(settings), ...options.backendEnv };
  const localCloudEntry = resolve(repoRoot, 'apps/local-cloud/src/main.ts');
  const backendEntry = resolve(repoRoot, options.entries?.backend ?? ENTRIES.backend);

  let localCloud: Child | undefined;
  let backend: Child | undefined;
  const supervision = createSupervision();
  const { echo, logMaxBytes } = options;
  const output: ChildOutput = { echo, logMaxBytes, logFailed: supervision.logFailed };
  const startLocalCloud = async () => {
    const child = startChild(
      'local-cloud',
      localCloudEntry,
      localCloudEnv,
      logDir,
      localCloudUrl,
      output,
    );
    localCloud = child;
    const queues = `${localCloudUrl}/v2/${parent}/queues`;
    await waitForChild(child, 'local-cloud', localCloudPort, localCloudUrl, queues);
    supervision.watch(child);
  };
  const startBackend = async () => {
    const child = startChild('backend', backendEntry, backendEnv, logDir, backendUrl, output);
    backend = child;
    await waitForChild(child, 'backend', backendPort, backendUrl, `${backendUrl}/healthz`);
    supervision.watch(child);
  };

  let localCloudToken = '';
  try {
    await startLocalCloud();
    localCloudToken = readFileSync(localCloudTokenFile, 'utf8').trim();
    await startBackend();
    await provision({
      ...settings,
      localCloudToken,
      processorEnv: options.processorEnv ?? {},
      processorCommand: settings.processor,
      queueRates: options.queueRates ?? {},
    });
  } catch (error) {
    await Promise.all([stopChild(backend), stopChild(localCloud)]);
    throw error;
  }

  return {
    backendUrl,
    localCloudUrl,
    projectId,
    location,
    parent,
    dataDir,
    adminToken,
    adminPassword,
    callbackSecret,
    localCloudToken,
    localCloudTokenFile,
    localCloud: withBearer(localCloudUrl, localCloudToken),
    async restartLocalCloud(restart = {}) {
      await stopChild(localCloud, restart.hard);
      await startLocalCloud();
    },
    async restartBackend(restart = {}) {
      await stopChild(backend, restart.hard);
      await startBackend();
    },
    admin: withBearer(backendUrl, adminToken),
    unexpectedExit: supervision.unexpectedExit,
    logFailure: supervision.logFailure,
    async stop() {
      // Each server's exit is expected from here on, also one that ends first on its own
      // (a terminal's Ctrl-C reaches the whole process group).
      supervision.stopping();
      // Backend first so it stops enqueueing, then the emulator (which stops its jobs).
      await stopChild(backend);
      await stopChild(localCloud);
    },
  };
}
