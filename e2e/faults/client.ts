/**
 * An upload client that behaves like a careful admin script under faults:
 * one file per request, retried with capped backoff on a network error or a
 * 5xx until a deadline. The backend deduplicates by sha256, so retrying an
 * upload whose answer was lost returns the same image (`duplicate: true`).
 * Whatever was never answered is reconciled by sha256 afterwards.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { coerceError } from '@slideshow/runtime';
import type { LocalStack } from '@slideshow/tools/local-stack';
import type { CorpusFile } from './corpus.ts';

/** What the client knows about one file after trying to upload it. */
export interface UploadRecord {
  file: CorpusFile;
  /** accepted: answered 202 with an id; refused: answered with a coded 4xx; unknown: never answered. */
  outcome: 'accepted' | 'refused' | 'unknown';
  /** Every id the backend answered for this file (more than one would be a duplicate). */
  ids: string[];
  errorCode?: string;
  attempts: number;
  /** Transient failures seen on the way (connection reset, 503, …). */
  transient: string[];
}

interface UploadAnswer {
  images?: { id?: string; error?: { code?: string } }[];
  error?: { code?: string };
}

/** Uploads one file, retrying transient failures until `deadline` (epoch ms). */
export async function uploadWithRetry(
  stack: LocalStack,
  file: CorpusFile,
  deadline: number,
): Promise<UploadRecord> {
  const record: UploadRecord = { file, outcome: 'unknown', ids: [], attempts: 0, transient: [] };
  for (let delay = 200; Date.now() < deadline; delay = Math.min(delay * 2, 3_000)) {
    record.attempts++;
    try {
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(file.bytes)]), file.name);
      const response = await stack.admin('/api/admin/upload', {
        method: 'POST',
        body: form,
        signal: AbortSignal.timeout(30_000),
      });
      const text = await response.text();
      if (response.status >= 500 || response.status === 429) {
        record.transient.push(`HTTP ${response.status}`);
      } else {
        const body = JSON.parse(text) as UploadAnswer;
        const entry = body.images?.[0];
        if (response.status === 202 && entry?.id && !entry.error) {
          record.outcome = 'accepted';
          record.ids.push(entry.id);
          return record;
        }
        record.outcome = 'refused';
        record.errorCode = entry?.error?.code ?? body.error?.code ?? `HTTP ${response.status}`;
        return record;
      }
    } catch (error) {
      record.transient.push(coerceError(error).message);
    }
    await sleep(delay);
  }
  return record;
}

/** Deletes an image, retrying transient failures; true once it answered 200 or 404. */
export async function deleteWithRetry(
  stack: LocalStack,
  id: string,
  deadline: number,
): Promise<boolean> {
  for (let delay = 200; Date.now() < deadline; delay = Math.min(delay * 2, 3_000)) {
    try {
      const response = await stack.admin(`/api/admin/images/${id}`, {
        method: 'DELETE',
        signal: AbortSignal.timeout(30_000),
      });
      await response.arrayBuffer();
      if (response.status === 200 || response.status === 404) return true;
    } catch (error) {
      // Connection refused while the backend restarts: try again after the delay.
      coerceError(error);
    }
    await sleep(delay);
  }
  return false;
}

/** Runs `task` over `items` with at most `concurrency` in flight, keeping order in the results. */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
