/**
 * The filesystem adapter's metadata sidecar: a small JSON file per object with
 * the content type and cache control that GCS keeps as object metadata. A
 * plain file instead of xattrs, which many filesystems and Docker volumes drop.
 */
import { readFile } from 'node:fs/promises';
import { hasCode } from './fs-paths.ts';

/** What the sidecar holds. */
export interface Sidecar {
  contentType: string;
  cacheControl?: string;
}

/** The content type of a file without a sidecar (e.g. dropped into the folder by hand). */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

/** The sidecar's bytes for a put's options. */
export function serializeSidecar(options: { contentType: string; cacheControl?: string }): string {
  const sidecar: Sidecar = { contentType: options.contentType };
  if (options.cacheControl !== undefined) sidecar.cacheControl = options.cacheControl;
  return JSON.stringify(sidecar);
}

/** Reads the sidecar at `file`; a missing or malformed one means "no metadata" (undefined). */
export async function readSidecar(file: string): Promise<Sidecar | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (hasCode(error, 'ENOENT', 'ENOTDIR', 'EISDIR')) return undefined;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    // A torn or hand-edited sidecar must not make the object unreadable.
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
  if (!parsed || typeof parsed !== 'object') return undefined;
  if (!('contentType' in parsed) || typeof parsed.contentType !== 'string') return undefined;
  const sidecar: Sidecar = { contentType: parsed.contentType };
  if ('cacheControl' in parsed && typeof parsed.cacheControl === 'string') {
    sidecar.cacheControl = parsed.cacheControl;
  }
  return sidecar;
}
