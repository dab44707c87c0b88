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
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { readJobLimits } from './job-limits.ts';
import { repoRoot } from './shared-dir.ts';

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

/** The two servers the stack runs. */
export type Service = 'local-cloud' | 'backend';

/** How a server of the stack ended on its own (see {@link LocalStack.unexpectedExit}). */
export interface UnexpectedExit {
  service: Service;
  /** Its exit status, or null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Its log file, `<dataDir>/logs/<service>.log`. */
  log: string;
}

/** A log file the stack could not write (see {@link LocalStack.logFailure}). */
export interface LogFailure {
  service: Service;
  /** The log file, `<dataDir>/logs/<service>.log`. */
  log: string;
  /** The system error code (`ENOSPC`, `EIO`, `EROFS`, …), when there is one. */
  code: string | undefined;
  message: string;
}

/** A queue's rate limits (Cloud Tasks `RateLimits`). */
export interface QueueRates {
  maxDispatchesPerSecond: number;
  maxConcurrentDispatches: number;
}

/** A queue's retry policy (Cloud Tasks `RetryConfig`). */
export interface QueueRetry {
  maxAttempts: number;
  minBackoff: string;
  maxBackoff: string;
  maxDoublings: number;
  maxRetryDuration: string;
}

/**
 * The queues the stack creates, as scripts/setup creates them in Google Cloud
 * (its `queue_settings`) with one deliberate difference:
 * - `retryConfig` is setup's: 30 attempts, 1–300 s (uploads) or 10–600 s
 *   (ingest) backoff, 6 doublings, 6 h. A task's target is local-cloud's own
 *   Executions API, which refuses it only when something is wrong (a task in
 *   flight when local-cloud is killed is sent again after its restart, not
 *   retried), so the faithful policy slows no healthy run, and
 *   `gcloud tasks queues describe` shows what production has.
 * - `rateLimits` are not setup's. Setup derives them from the Cloud Run
 *   job-run quota (0.6/s and 0.2/s by default, docs/operations.md "Quotas and
 *   queue rates"), which local-cloud does not impose; locally they are high
 *   enough that no run waits on its queue. A test that needs a slow queue sets
 *   `queueRates` (e2e/test/throttled-queue.test.ts) or patches the queue (the
 *   fault suite).
 */
export const LOCAL_QUEUES = {
  // Interactive uploads: one workflow execution per image.
  'image-uploads': {
    rateLimits: { maxDispatchesPerSecond: 20, maxConcurrentDispatches: 50 },
    retryConfig: {
      maxAttempts: 30,
      minBackoff: '1s',
      maxBackoff: '300s',
      maxDoublings: 6,
      maxRetryDuration: '21600s',
    },
  },
  // Bulk ingest: batches of images per execution, lower priority, its own queue.
  'image-ingest': {
    rateLimits: { maxDispatchesPerSecond: 5, maxConcurrentDispatches: 10 },
    retryConfig: {
      maxAttempts: 30,
      minBackoff: '10s',
      maxBackoff: '600s',
      maxDoublings: 6,
      maxRetryDuration: '21600s',
    },
  },
} as const satisfies Record<string, { rateLimits: QueueRates; retryConfig: QueueRetry }>;

/** The queues the stack creates. */
export type QueueId = keyof typeof LOCAL_QUEUES;

/** Finds a free loopback port (the OS picks it). */
export async function freePort(): Promise<number> {
  return await new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** Thrown when a port the stack was told to listen on is taken by another process. */
export class PortInUseError extends Error {
  readonly service: Service;
  readonly port: number;

  constructor(service: Service, port: number) {
    super(`the ${service} port ${port} on 127.0.0.1 is already in use by another process`);
    this.name = 'PortInUseError';
    this.service = service;
    this.port = port;
  }
}

/**
 * Fails with PortInUseError unless `port` can be bound on 127.0.0.1. Checked
 * before anything starts: the readiness checks below would otherwise get their
 * answers from whatever already listens there (another stack), and
 * provisioning would rewrite that stack's queues, workflows and job.
 */
async function ensurePortFree(service: Service, port: number): Promise<void> {
  await new Promise<void>((resolveFree, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' ? new PortInUseError(service, port) : error);
    });
    server.listen(port, '127.0.0.1', () => server.close(() => resolveFree()));
  });
}

/** Reads a secret from the data folder, creating it on first use, so a second run keeps it. */
function persistentSecret(dataDir: string, name: string, bytes = 24): string {
  const file = join(dataDir, name);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const value = randomBytes(bytes).toString('base64url');
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return value;
}

interface Child {
  name: Service;
  process: ChildProcess;
  exited: Promise<number | null>;
  /** Its log file. */
  log: string;
  /** Set once this stack stops it: its exit is then expected. */
  stopRequested: boolean;
  /** The last lines the child printed (for error messages). */
  tail(): string[];
  /**
   * Resolves once the child logs a JSON line whose `url` is `url`: both apps log
   * their URL only after binding the port, so the server that answers there is
   * this child, not another process on the same port.
   */
  announced: Promise<void>;
}

const TAIL_LINES = 40;

/** What {@link startChild} reports to: the caller's echo and the stack's log-failure report. */
interface ChildOutput {
  echo: ((name: string, line: string) => void) | undefined;
  logFailed(failure: LogFailure): void;
}

function startChild(
  name: Service,
  entry: string,
  env: Record<string, string>,
  logDir: string,
  url: string,
  output: ChildOutput,
): Child {
  const logFile = join(logDir, `${name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  // The child's output goes through this process into the file. A failed write (ENOSPC on a
  // full disk, EIO, EROFS; or opening the file) is reported once, not thrown: an 'error'
  // without a listener would end this process and, through the stdin lifeline, the stack
  // with no word of why. Later chunks are still read (readiness, the tail, the echo).
  let logBroken = false;
  log.on('error', (error: NodeJS.ErrnoException) => {
    if (logBroken) return;
    logBroken = true;
    output.logFailed({ service: name, log: logFile, code: error.code, message: error.message });
  });
  const child = spawn(process.execPath, [entry], {
    cwd: repoRoot,
    env: { ...process.env, ...env, STOP_WHEN_STDIN_CLOSES: '1' },
    // stdin is a lifeline: its other end stays open in this process, so once this process
    // is gone however it ended (SIGKILL, a crash), the child reads its end and stops itself.
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.once('exit', () => child.stdin?.destroy());
  const tail: string[] = [];
  let announce: () => void = () => {};
  const announced = new Promise<void>((resolveAnnounced) => {
    announce = resolveAnnounced;
  });
  const onLine = (line: string) => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    if (line.includes(`"url":"${url}"`)) announce();
    output.echo?.(name, line);
  };
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream?.on('data', (chunk: Buffer) => {
      if (!logBroken) log.write(chunk);
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    });
  }
  const exited = new Promise<number | null>((resolveExit) => {
    child.once('exit', (code) => {
      log.end();
      resolveExit(code);
    });
  });
  return {
    name,
    process: child,
    exited,
    log: logFile,
    stopRequested: false,
    tail: () => [...tail],
    announced,
  };
}

async function stopChild(child: Child | undefined, hard = false): Promise<void> {
  if (child) child.stopRequested = true;
  if (!child || child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill(hard ? 'SIGKILL' : 'SIGTERM');
  const killed = await Promise.race([
    child.exited.then(() => true),
    sleep(15_000).then(() => false),
  ]);
  if (!killed) {
    child.process.kill('SIGKILL');
    await child.exited;
  }
}

/**
 * Waits until `child` has announced `url` (it bound the port itself) and
 * `readyUrl` answers (any HTTP status below 500), or `timeoutMs` passes. Generous: on a
 * saturated 2-core CI machine a start has been seen to take 70 s. A child
 * that exits first fails the wait; one that lost its port to another process
 * (bound after ensurePortFree looked) fails with PortInUseError.
 */
async function waitForChild(
  child: Child,
  service: Service,
  port: number,
  url: string,
  readyUrl: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const failure = await Promise.race([
    child.announced.then(() => undefined),
    child.exited.then((code) =>
      child.tail().some((line) => line.includes('EADDRINUSE'))
        ? new PortInUseError(service, port)
        : new Error(
            `${child.name} exited with status ${code} before it was ready; its last lines:\n${child.tail().join('\n')}`,
          ),
    ),
    // Unreferenced: a timer still pending after the race must not keep the process alive.
    sleep(timeoutMs, undefined, { ref: false }).then(
      () => new Error(`${child.name} did not announce ${url} within ${timeoutMs} ms`),
    ),
  ]);
  if (failure) throw failure;
  await waitForHttp(readyUrl, child, Math.max(1_000, deadline - Date.now()));
}

/** Polls `url` until it answers (any HTTP status below 500) or `timeoutMs` passes. */
export async function waitForHttp(
  url: string,
  child: Child | undefined,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child && child.process.exitCode !== null) {
      throw new Error(
        `${child.name} exited with status ${child.process.exitCode} before it was ready (see its log)`,
      );
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (response.status < 500) return;
      lastError = new Error(`HTTP ${response.status}`);
    } catch (error) {
      lastError = error;
    }
    await sleep(100);
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms: ${String(lastError)}`);
}

async function googleApi(
  method: string,
  url: string,
  body?: unknown,
  token?: string,
): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const init: RequestInit = { method, headers };
  if (body !== undefined) init.body = JSON.stringify(body);
  return await fetch(url, init);
}

async function expectOk(
  response: Response,
  what: string,
  allowed: number[] = [],
): Promise<unknown> {
  const text = await response.text();
  if (!response.ok && !allowed.includes(response.status)) {
    throw new Error(`${what} failed: HTTP ${response.status} ${text}`);
  }
  return text ? (JSON.parse(text) as unknown) : undefined;
}

/** The production entries; {@link LocalStackOptions.entries} replaces them in fault tests. */
const ENTRIES = {
  backend: 'apps/backend/src/main.ts',
  processor: 'apps/processor/dist/processor.mjs',
} as const;

/**
 * The local stack's JOB_PARALLELISM: a deliberate local override of the
 * production value in deploy/job-limits.env, not a second definition of it.
 * Locally every task is a process on this machine's cores rather than a
 * container with 2 CPUs of its own, so a batch runs as one task: one warm
 * processor process for all its images (docs/performance.md, "Orchestration
 * overhead: 100 small images"), leaving the other cores to the backend and
 * local-cloud. The workflow sizes a batch's taskCount and wait from it, and
 * the local job's `parallelism` is the same 1.
 */
const LOCAL_JOB_PARALLELISM = 1;

/** The processor's command line: the only one local-cloud is told to run. */
function processorCommand(entry: string): string[] {
  return [process.execPath, resolve(repoRoot, entry)];
}

/** What {@link provision} needs to know of the stack. */
interface ProvisionTarget {
  localCloudUrl: string;
  localCloudToken: string;
  backendUrl: string;
  parent: string;
  dataDir: string;
  maxRetries: number;
  taskTimeoutSeconds: number;
  processorEnv: Record<string, string>;
  processorCommand: string[];
  queueRates: Partial<Record<QueueId, QueueRates>>;
}

/** Creates the queues, deploys the workflows and registers the processor job (idempotent). */
async function provision(stack: ProvisionTarget): Promise<void> {
  await createQueues(stack);
  await deployWorkflows(stack);
  await registerProcessorJob(stack);
}

/** The queues of {@link LOCAL_QUEUES}, with the stack's `queueRates` when given (already there is fine). */
async function createQueues(stack: ProvisionTarget): Promise<void> {
  const { localCloudUrl: base, parent, localCloudToken: token } = stack;
  for (const [queue, { rateLimits, retryConfig }] of Object.entries(LOCAL_QUEUES)) {
    const body = {
      name: `${parent}/queues/${queue}`,
      rateLimits: stack.queueRates[queue as QueueId] ?? rateLimits,
      retryConfig,
    };
    await expectOk(
      await googleApi('POST', `${base}/v2/${parent}/queues`, body, token),
      `create queue ${queue}`,
      [409],
    );
  }
}

/** The workflows of workflows/, created or updated to the checked-out source. */
async function deployWorkflows(stack: ProvisionTarget): Promise<void> {
  const { localCloudUrl: base, parent, localCloudToken: token } = stack;
  const workflowsDir = resolve(repoRoot, 'workflows');
  const userEnvVars = {
    PROCESSOR_JOB: 'processor',
    BACKEND_URL: stack.backendUrl,
    TASK_TIMEOUT_SECONDS: String(stack.taskTimeoutSeconds),
    MAX_RETRIES: String(stack.maxRetries),
    // Production's value comes from deploy/job-limits.env; locally one task per batch, on purpose.
    JOB_PARALLELISM: String(LOCAL_JOB_PARALLELISM),
  };
  for (const [workflowId, file] of [
    ['process-image', 'process-image.workflows.yaml'],
    ['process-batch', 'process-batch.workflows.yaml'],
  ] as const) {
    const path = join(workflowsDir, file);
    if (!existsSync(path)) continue;
    const workflow = { sourceContents: readFileSync(path, 'utf8'), userEnvVars };
    const created = await googleApi(
      'POST',
      `${base}/v1/${parent}/workflows?workflowId=${workflowId}`,
      workflow,
      token,
    );
    if (created.status === 409) {
      const patched = await googleApi(
        'PATCH',
        `${base}/v1/${parent}/workflows/${workflowId}?updateMask=sourceContents,userEnvVars`,
        workflow,
        token,
      );
      await expectOk(patched, `update workflow ${workflowId}`);
    } else {
      await expectOk(created, `deploy workflow ${workflowId}`);
    }
  }
}

/** The processor's Cloud Run job, created or updated. */
async function registerProcessorJob(stack: ProvisionTarget): Promise<void> {
  const { localCloudUrl: base, parent, localCloudToken: token } = stack;
  const job = processorJob(stack);
  const created = await googleApi('POST', `${base}/v2/${parent}/jobs?jobId=processor`, job, token);
  if (created.status === 409) {
    await expectOk(
      await googleApi('PATCH', `${base}/v2/${parent}/jobs/processor`, job, token),
      'update job processor',
    );
  } else {
    await expectOk(created, 'create job processor');
  }
}

/**
 * The processor's variables that say where it sends the callback secret, how it
 * authenticates and which store it reads and writes: its job is registered with
 * them, and local-cloud refuses any job or override with other values
 * (LOCAL_CLOUD_JOB_PINNED_ENV, in {@link localCloudEnvironment}).
 */
function processorPinnedEnv(stack: { backendUrl: string; dataDir: string }) {
  return {
    BACKEND_API_URL: stack.backendUrl,
    // A URL made from the path: a folder named with `#`, `?` or `%` keeps its name.
    STORAGE_URL: pathToFileURL(resolve(stack.dataDir, 'storage')).href,
    CALLBACK_AUTH: 'shared-secret',
  };
}

/** The processor's Cloud Run job resource (v2 `Job`), which local-cloud runs as a local process. */
function processorJob(stack: ProvisionTarget): Record<string, unknown> {
  const env = {
    ...processorPinnedEnv(stack),
    MAX_RETRIES: String(stack.maxRetries),
    // As in the Cloud Run job (apps/processor/Dockerfile): glibc arenas capped so libvips'
    // threads do not fragment memory (sharp's install notes), and large blocks mmap'd and
    // returned on free so a batch task's memory does not grow from image to image.
    MALLOC_ARENA_MAX: '2',
    MALLOC_MMAP_THRESHOLD_: '131072',
    ...stack.processorEnv,
  };
  return {
    template: {
      taskCount: 1,
      parallelism: LOCAL_JOB_PARALLELISM,
      template: {
        maxRetries: stack.maxRetries,
        timeout: `${stack.taskTimeoutSeconds}s`,
        containers: [
          {
            image: 'local/processor',
            command: stack.processorCommand.slice(0, 1),
            args: stack.processorCommand.slice(1),
            env: [
              ...Object.entries(env).map(([name, value]) => ({ name, value })),
              // A Secret Manager reference, as in production: the job resource never holds the value.
              {
                name: 'CALLBACK_SECRET',
                valueSource: { secretKeyRef: { secret: 'callback-secret', version: 'latest' } },
              },
            ],
            resources: { limits: { cpu: '2', memory: '2Gi' } },
          },
        ],
      },
    },
  };
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

/**
 * Watches the stack's servers once they are ready: the first that exits without this stack
 * having stopped it (a crash, out of memory, a kill) settles {@link LocalStack.unexpectedExit}.
 */
function createSupervision(): {
  unexpectedExit: Promise<UnexpectedExit>;
  logFailure: Promise<LogFailure>;
  /** Reports a log file that could not be written (the first one counts). */
  logFailed(failure: LogFailure): void;
  watch(child: Child): void;
  /** The whole stack is stopping: no exit is unexpected from now on. */
  stopping(): void;
} {
  let stopping = false;
  let report: (exit: UnexpectedExit) => void = () => {};
  const unexpectedExit = new Promise<UnexpectedExit>((resolveExit) => {
    report = resolveExit;
  });
  let logFailed: (failure: LogFailure) => void = () => {};
  const logFailure = new Promise<LogFailure>((resolveFailure) => {
    logFailed = resolveFailure;
  });
  return {
    unexpectedExit,
    logFailure,
    logFailed: (failure) => logFailed(failure),
    watch(child) {
      void child.exited.then((code) => {
        if (stopping || child.stopRequested) return;
        report({ service: child.name, code, signal: child.process.signalCode, log: child.log });
      });
    },
    stopping() {
      stopping = true;
    },
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
  const output: ChildOutput = { echo: options.echo, logFailed: supervision.logFailed };
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
