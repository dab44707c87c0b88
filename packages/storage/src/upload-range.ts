/**
 * The `Content-Range` of a resumable upload request, as Cloud Storage reads it
 * (https://cloud.google.com/storage/docs/performing-resumable-uploads):
 * `bytes FIRST-LAST/TOTAL` sends bytes FIRST..LAST (inclusive) of an object of
 * TOTAL bytes (`*` when the total is not known yet); `bytes *` + `/TOTAL`
 * (empty body) asks how many bytes the session holds. Pure: used by the
 * filesystem adapter's session server and by the emulator's test layer.
 */
import { AppError } from '@slideshow/runtime';

/** Chunks other than the last must be a multiple of this many bytes (256 KiB). */
export const UPLOAD_CHUNK_MULTIPLE = 256 * 1024;

/** A parsed upload `Content-Range`. */
export type UploadRange =
  | { kind: 'query'; total: number | undefined }
  | { kind: 'bytes'; first: number; last: number; total: number | undefined };

const QUERY = /^bytes \*\/(\d+|\*)$/;
const BYTES = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;

function refuse(header: string | null | undefined, why: string): never {
  throw new AppError(
    'VALIDATION_FAILED',
    `Expected a Content-Range such as "bytes 0-262143/1000000" but received ${JSON.stringify(header ?? null)}: ${why}`,
  );
}

function count(text: string | undefined, header: string): number | undefined {
  if (text === undefined || text === '*') return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n)) refuse(header, `${text} is not a byte count`);
  return n;
}

/** Parses an upload `Content-Range`; throws `VALIDATION_FAILED` for anything else. */
export function parseUploadContentRange(header: string | null | undefined): UploadRange {
  const text = (header ?? '').trim();
  if (text === '') refuse(header, 'it is missing');
  const query = QUERY.exec(text);
  if (query) return { kind: 'query', total: count(query[1], text) };
  const bytes = BYTES.exec(text);
  if (!bytes) refuse(header, 'it is not of the form "bytes FIRST-LAST/TOTAL" or "bytes */TOTAL"');
  const first = count(bytes[1], text) ?? 0;
  const last = count(bytes[2], text) ?? 0;
  const total = count(bytes[3], text);
  if (last < first) refuse(header, 'the last byte comes before the first');
  if (total !== undefined && last >= total) refuse(header, 'the last byte is past the total');
  return { kind: 'bytes', first, last, total };
}

/** The `Range` header of a `308 Resume Incomplete` answer, or undefined when no byte is held. */
export function persistedRange(received: number): string | undefined {
  return received > 0 ? `bytes=0-${received - 1}` : undefined;
}
