/**
 * Opens an ObjectStore from one location string, so apps take a single
 * setting (`gs://bucket` in production, a folder locally). Each adapter is
 * loaded with a dynamic import: opening a folder never loads the GCS client.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '@slideshow/runtime';
import type { FsObjectStoreOptions } from './fs.ts';
import type { GcsObjectStoreOptions } from './gcs.ts';
import type { ObjectStore } from './object-store.ts';

/** Adapter options that do not come from the location string. */
export interface OpenObjectStoreOptions {
  gcs?: Omit<GcsObjectStoreOptions, 'bucket'>;
  fs?: Omit<FsObjectStoreOptions, 'root'>;
}

/** What a location string names, before anything is loaded. */
export type ObjectStoreLocation = { kind: 'gcs'; bucket: string } | { kind: 'fs'; root: string };

// Bucket naming rules: https://cloud.google.com/storage/docs/buckets#naming (3–63 characters
// per dot-separated component, up to 222 in all; lowercase letters, digits, "-", "_" and ".").
const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

function refuse(location: string, reason: string): never {
  throw new AppError(
    'VALIDATION_FAILED',
    `Expected a storage location (gs://bucket, file:///abs/path or a folder path) but received ${JSON.stringify(location)}: ${reason}`,
    {
      context: { location },
    },
  );
}

/**
 * Parses `gs://bucket`, `file:///abs/path` or a plain folder path (relative
 * paths resolve against the working directory). Anything else, including a
 * `gs://` URL with a path, is `AppError('VALIDATION_FAILED')`.
 */
export function parseObjectStoreLocation(location: string): ObjectStoreLocation {
  if (location.trim() === '') refuse(location, 'it is empty');
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(location)?.[1]?.toLowerCase();
  if (scheme === 'gs') {
    const url = new URL(location);
    if (url.pathname !== '' && url.pathname !== '/')
      refuse(location, 'a gs:// location names a whole bucket, without a path');
    if (url.search || url.hash || url.username || url.port)
      refuse(location, 'a gs:// location takes no query, fragment, user or port');
    if (!BUCKET_NAME.test(url.hostname))
      refuse(location, `"${url.hostname}" is not a valid bucket name`);
    return { kind: 'gcs', bucket: url.hostname };
  }
  if (scheme === 'file') {
    // A `#` or `?` in a folder's name would end the path there, silently naming another
    // folder: a file:// location made with pathToFileURL has neither.
    if (/[#?]/.test(location))
      refuse(
        location,
        'a file:// location takes no query or fragment (write "#" as %23, "?" as %3F)',
      );
    try {
      return { kind: 'fs', root: fileURLToPath(location) };
    } catch (error) {
      refuse(location, error instanceof Error ? error.message : String(error));
    }
  }
  if (scheme !== undefined) refuse(location, `unsupported scheme "${scheme}:"`);
  return { kind: 'fs', root: path.resolve(location) };
}

/** Opens the store a location names; see {@link parseObjectStoreLocation}. */
export async function openObjectStore(
  location: string,
  options: OpenObjectStoreOptions = {},
): Promise<ObjectStore> {
  const parsed = parseObjectStoreLocation(location);
  if (parsed.kind === 'gcs') {
    const { createGcsObjectStore } = await import('./gcs.ts');
    return createGcsObjectStore({ ...options.gcs, bucket: parsed.bucket });
  }
  const { createFsObjectStore } = await import('./fs.ts');
  return createFsObjectStore({ ...options.fs, root: parsed.root });
}
