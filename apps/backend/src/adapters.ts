/**
 * The backend's adapters, opened from its configuration for main.ts: the
 * object store (through `@slideshow/storage/open`), the dispatcher, the queue
 * admin, the task cancellation, the callback verifier, the lease store and the database bucket (for
 * deleting superseded replicas). Each adapter is imported
 * only when the configuration names it, so a local run never loads a cloud
 * SDK it does not use (packages/storage/src/open.test.ts and
 * packages/dispatch/src/guard.test.ts prove the lazy loading).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CallbackVerifier } from '@slideshow/callback-auth';
import type { TaskCancellation, TaskDispatcher } from '@slideshow/dispatch';
import type { QueueAdmin } from '@slideshow/dispatch/queue-admin';
import type { LeaseStore } from '@slideshow/lease/store';
import type { Logger } from '@slideshow/runtime';
import type { ObjectStore, ResumableUploads } from '@slideshow/storage';
import type { FsUploadSessions } from '@slideshow/storage/fs';
import { openObjectStore, parseObjectStoreLocation } from '@slideshow/storage/open';
import type { BackendConfig } from './config.ts';
import type { AppDeps } from './context.ts';
import { randomToken } from './ids.ts';
import { UPLOAD_SESSION_PATH } from './routes/upload-sessions.ts';

/** Reads a persisted local secret, creating it (mode 0600) on first start. */
export function localSecret(dataDir: string, name: string, bytes: number): string {
  const file = join(dataDir, name);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const value = randomToken(bytes);
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return value;
}

/** The folder store's server side of its upload sessions (`receive`), which this app serves. */
function servedHere(uploads: ResumableUploads | undefined): uploads is FsUploadSessions {
  return typeof (uploads as Partial<FsUploadSessions> | undefined)?.receive === 'function';
}

/**
 * The store; the server side of its upload sessions when this app serves them
 * (a folder: `PUT /api/upload-sessions/:token`); and where the page sends
 * upload chunks when it does not (the Cloud Storage endpoint, for the
 * Content-Security-Policy's connect-src).
 */
export async function openStore(config: BackendConfig): Promise<{
  store: ObjectStore;
  uploadReceiver?: AppDeps['uploadReceiver'];
  uploadOrigins: string[];
}> {
  const store = await openObjectStore(config.storageUrl, {
    fs: { uploadSessionPath: UPLOAD_SESSION_PATH },
    ...(config.gcsApiEndpoint ? { gcs: { apiEndpoint: config.gcsApiEndpoint } } : {}),
  });
  if (parseObjectStoreLocation(config.storageUrl).kind === 'fs') {
    return servedHere(store.uploads)
      ? { store, uploadReceiver: store.uploads, uploadOrigins: [] }
      : { store, uploadOrigins: [] };
  }
  // Session URIs are on the JSON API's host (https://storage.googleapis.com/upload/storage/v1/…).
  return {
    store,
    uploadOrigins: [new URL(config.gcsApiEndpoint ?? 'https://storage.googleapis.com').origin],
  };
}

/**
 * The database bucket (LITESTREAM_BUCKET) as an object store, for deleting the
 * replicas of earlier writers (writer/replica-pruning.ts).
 */
export function openReplicaStore(config: BackendConfig, bucket: string): Promise<ObjectStore> {
  return openObjectStore(`gs://${bucket}`, {
    ...(config.gcsApiEndpoint ? { gcs: { apiEndpoint: config.gcsApiEndpoint } } : {}),
  });
}

/** The dispatcher DISPATCH names. */
export async function openDispatcher(
  config: BackendConfig,
  logger: Logger,
): Promise<TaskDispatcher> {
  // local-cloud's token stands in for Google's OAuth token (unset in production: ADC).
  const token = config.localCloudTokenFile ? { accessTokenFile: config.localCloudTokenFile } : {};
  switch (config.dispatch) {
    case 'dry-run': {
      const { createDryRunDispatcher } = await import('@slideshow/dispatch/dry-run');
      return createDryRunDispatcher({ logger });
    }
    case 'workflows': {
      const { createWorkflowsDispatcher } = await import('@slideshow/dispatch/workflows');
      return createWorkflowsDispatcher({
        project: config.project,
        location: config.location,
        workflow: config.workflow,
        logger,
        ...(config.workflowsEndpoint ? { apiEndpoint: config.workflowsEndpoint } : {}),
        ...token,
      });
    }
    case 'cloud-tasks': {
      const { createCloudTasksDispatcher } = await import('@slideshow/dispatch/cloud-tasks');
      return createCloudTasksDispatcher({
        project: config.project,
        location: config.location,
        queues: config.queues,
        workflow: config.workflow,
        serviceAccountEmail: config.tasksServiceAccount,
        logger,
        ...(config.executionsBaseUrl ? { executionsBaseUrl: config.executionsBaseUrl } : {}),
        ...(config.cloudTasksEndpoint ? { apiEndpoint: config.cloudTasksEndpoint } : {}),
        ...token,
      });
    }
  }
}

/** Where the Cloud Tasks queues are and how to reach them (local-cloud's token when set). */
function cloudTasksQueues(config: BackendConfig) {
  return {
    project: config.project,
    location: config.location,
    queues: config.queues,
    ...(config.cloudTasksEndpoint ? { apiEndpoint: config.cloudTasksEndpoint } : {}),
    ...(config.localCloudTokenFile ? { accessTokenFile: config.localCloudTokenFile } : {}),
  };
}

/** The jobs page's view of the queues: only the Cloud Tasks dispatcher has any. */
export async function openQueueAdmin(config: BackendConfig): Promise<QueueAdmin | undefined> {
  if (config.dispatch === 'dry-run') {
    const { createDryRunQueueAdmin } = await import('@slideshow/dispatch/queue-admin/dry-run');
    return createDryRunQueueAdmin();
  }
  if (config.dispatch !== 'cloud-tasks') return undefined;
  const { createCloudTasksQueueAdmin } = await import(
    '@slideshow/dispatch/queue-admin/cloud-tasks'
  );
  return createCloudTasksQueueAdmin(cloudTasksQueues(config));
}

/**
 * What removes a deleted image's queued task (library/queued-tasks.ts): Cloud Tasks' `tasks.delete`,
 * a no-op for the dry run, nothing for Workflows (no queue).
 */
export async function openTaskCancellation(
  config: BackendConfig,
  logger: Logger,
): Promise<TaskCancellation | undefined> {
  if (config.dispatch === 'dry-run') {
    const { createDryRunCancellation } = await import('@slideshow/dispatch/dry-run');
    return createDryRunCancellation();
  }
  if (config.dispatch !== 'cloud-tasks') return undefined;
  const { createCloudTasksCancellation } = await import('@slideshow/dispatch/cloud-tasks');
  return createCloudTasksCancellation({ ...cloudTasksQueues(config), logger });
}

/** The verifier of processing callbacks: Google ID tokens, or the local shared secret. */
export async function openVerifier(config: BackendConfig): Promise<CallbackVerifier> {
  if (config.callbackAuth === 'google') {
    const { createGoogleIdTokenVerifier } = await import('@slideshow/callback-auth/google');
    return createGoogleIdTokenVerifier({
      audience: config.publicUrl ?? '',
      allowedEmails: config.callbackAllowedEmails,
      allowedSubjects: config.callbackAllowedSubjects,
    });
  }
  const secret = config.callbackSecret ?? localSecret(config.dataDir, 'callback-secret', 32);
  const { createSharedSecretVerifier } = await import('@slideshow/callback-auth/shared-secret');
  return createSharedSecretVerifier(secret);
}

/** The lease store named by LEASE_URL; the Cloud Storage SDK loads only for gs:// URLs. */
export async function openLeaseStore(config: BackendConfig): Promise<LeaseStore> {
  const url = new URL(config.lease.url);
  if (url.protocol === 'file:') {
    const { createFsLeaseStore } = await import('@slideshow/lease/fs');
    return createFsLeaseStore({ path: fileURLToPath(url) });
  }
  const gcsModule = '@slideshow/lease/gcs';
  const { createGcsLeaseStore } = (await import(gcsModule)) as {
    createGcsLeaseStore(options: {
      bucket: string;
      object: string;
      apiEndpoint?: string;
    }): LeaseStore;
  };
  return createGcsLeaseStore({
    bucket: url.hostname,
    object: decodeURIComponent(url.pathname.slice(1)),
    ...(config.gcsApiEndpoint ? { apiEndpoint: config.gcsApiEndpoint } : {}),
  });
}
