/**
 * Builds the processor's adapters from its configuration. Each adapter is
 * imported lazily so a job on a local folder never loads the GCS client, and a
 * job with a shared secret never loads google-auth-library: start-up stays fast.
 */
import { fileURLToPath } from 'node:url';
import type { CallbackCredentials } from '@slideshow/callback-auth';
import { AppError } from '@slideshow/runtime';
import type { ObjectStore } from '@slideshow/storage';
import type { ProcessorConfig } from './config.ts';

/** Opens the object store named by `config.storageUrl` (`gs://bucket` or `file:///abs`). */
export async function openStore(
  config: Pick<ProcessorConfig, 'storageUrl' | 'gcsApiEndpoint'>,
): Promise<ObjectStore> {
  const url = new URL(config.storageUrl);
  if (url.protocol === 'gs:') {
    const { createGcsObjectStore } = await import('@slideshow/storage/gcs');
    return createGcsObjectStore({
      bucket: url.hostname,
      ...(config.gcsApiEndpoint ? { apiEndpoint: config.gcsApiEndpoint } : {}),
    });
  }
  if (url.protocol === 'file:') {
    const { createFsObjectStore } = await import('@slideshow/storage/fs');
    return createFsObjectStore({ root: fileURLToPath(url) });
  }
  throw new AppError('VALIDATION_FAILED', `unsupported storage URL ${config.storageUrl}`);
}

/** Creates the callback credentials: a Google ID token, or the local shared secret. */
export async function openCredentials(
  config: Pick<ProcessorConfig, 'callbackAuth' | 'callbackSecret' | 'callbackAudience'>,
): Promise<CallbackCredentials> {
  if (config.callbackAuth === 'shared-secret') {
    const { createSharedSecretCredentials } = await import(
      '@slideshow/callback-auth/shared-secret'
    );
    return createSharedSecretCredentials(config.callbackSecret ?? '');
  }
  const { createGoogleIdTokenCredentials } = await import('@slideshow/callback-auth/google');
  return createGoogleIdTokenCredentials({ audience: config.callbackAudience });
}
