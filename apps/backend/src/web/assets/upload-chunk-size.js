// How many bytes the admin page puts in each request of a resumable upload
// (resumable-upload.js). A dropped connection loses the chunk in flight and no
// more, and each chunk costs a request (a round trip, ~0.1–0.3 s on a phone
// network): the chunk is as large as a few seconds of sending at the speed the
// connection showed, so a drop loses at most those seconds and the requests
// cost a few per cent. A file goes in at least four chunks, so that a drop
// loses at most a quarter of it also before the speed is known. Never
// larger than the session's `chunkBytes` (the backend's advice: Cloud
// Storage's recommended 8 MiB, or the local route's 2 MiB body limit), and
// always a multiple of 256 KiB, as Cloud Storage requires of every chunk but
// the last (https://cloud.google.com/storage/docs/performing-resumable-uploads).

/** Cloud Storage's unit: every chunk but the last is a multiple of it. */
export const CHUNK_UNIT = 256 * 1024;

/** Seconds of sending a chunk should take at most, at the speed last measured: what a drop may lose. */
export const CHUNK_SECONDS = 5;

/** Fewest chunks a file is cut into (the most a drop loses of it while the speed is unknown). */
export const MIN_CHUNKS = 4;

/**
 * The size of the next chunk: `limit` (the session's chunkBytes, a multiple of
 * CHUNK_UNIT), `size` (the file's bytes) and `bytesPerSecond` (the speed the
 * last chunk was sent at; undefined before the first) → a multiple of
 * CHUNK_UNIT between CHUNK_UNIT and `limit`.
 */
export function chunkSize({ limit, size, bytesPerSecond }) {
  const bySize = size / MIN_CHUNKS;
  const bySpeed = bytesPerSecond > 0 ? bytesPerSecond * CHUNK_SECONDS : Number.POSITIVE_INFINITY;
  const units = Math.floor(Math.min(limit, bySize, bySpeed) / CHUNK_UNIT);
  return Math.max(1, units) * CHUNK_UNIT;
}
