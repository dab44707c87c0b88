/**
 * Builds the processor's adapters from its configuration. Each adapter is
 * imported lazily so a job on a local folder never loads the GCS client, and a
 * job with a shared secret never loads google-auth-library: start-up stays fast.
 */
import type { CallbackCredentials } from '@slideshow/callback-auth';
import type { ObjectStore } from '@slideshow/storage';
import type { ProcessorConfig } from './config.ts';

/** Opens the object store named by `config.storageUrl` (`gs://bucket` or `file:///abs`). */
export async function openStore(
  config: Pick<ProcessorConfig, 'storageUrl' | 'gcsApiEndpoint'>,
): Promise<ObjectStore> {
  // @slideshow/storage/open imports each adapter lazily: a folder never loads the GCS client.
  const { openObjectStore } = await import('@slideshow/storage/open');
  return openObjectStore(config.storageUrl, {
    ...(config.gcsApiEndpoint ? { gcs: { apiEndpoint: config.gcsApiEndpoint } } : {}),
  });
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
