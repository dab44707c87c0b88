/**
 * Provisions a running local-cloud as scripts/setup provisions Google Cloud:
 * the two queues, the workflows of workflows/ and the processor's Cloud Run
 * job, through local-cloud's REST APIs with its token. Idempotent: a second
 * start updates what is there.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './shared-dir.ts';

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
export async function provision(stack: ProvisionTarget): Promise<void> {
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
export function processorPinnedEnv(stack: { backendUrl: string; dataDir: string }) {
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
