/**
 * Reads an object already in the store the way an upload is checked while it
 * streams: every byte through sha256, the first 256 KiB to `probeHeader`
 * (magic-byte sniff and header probe, so a refused type or a decompression
 * bomb is caught without decoding), and the size against the upload limit.
 * Used by ingest (objects the admin put in the bucket) and by resumable
 * uploads (objects a browser sent straight to the store).
 */
import { createHash } from 'node:crypto';
import { HEAD_BYTES, probeHeader } from '@slideshow/imaging/header';
import { AppError } from '@slideshow/runtime';
import type { ObjectReader } from '@slideshow/storage';

/** What a read of a stored object found. */
export interface StoredImage {
  bytes: number;
  sha256: string;
  probe: Awaited<ReturnType<typeof probeHeader>>;
}

/** Reads `key` once; throws the image's refusal (415/422), PAYLOAD_TOO_LARGE, or storage errors. */
export async function readStoredImage(
  store: ObjectReader,
  key: string,
  maxBytes: number,
): Promise<StoredImage> {
  const hash = createHash('sha256');
  const headChunks: Buffer[] = [];
  let headLength = 0;
  let bytes = 0;
  const stream = await store.get(key);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
      if (headLength < HEAD_BYTES) {
        headChunks.push(chunk);
        headLength += chunk.length;
      }
      if (bytes > maxBytes) {
        throw new AppError('PAYLOAD_TOO_LARGE', `${key} is larger than ${maxBytes} bytes`, {
          context: { key, maxBytes },
        });
      }
    }
  } finally {
    stream.destroy();
  }
  const head = Buffer.concat(headChunks).subarray(0, HEAD_BYTES);
  const probe = await probeHeader(head, bytes, { maxBytes });
  return { bytes, sha256: hash.digest('hex'), probe };
}
