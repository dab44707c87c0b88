/**
 * Hand-built multipart bodies for hostile-input tests: raw bytes, so a test
 * can send what no well-behaved client would (non-UTF-8 or NUL filenames,
 * lying part types, thousands of parts, huge part headers, bodies that never
 * end).
 */
import { randomBytes } from 'node:crypto';

/** The boundary every body here uses. */
export const BOUNDARY = 'hostile-boundary-7f3a';
/** The request Content-Type for these bodies. */
export const MULTIPART_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;

/** The head of one file part; `filename` may be raw bytes. */
export function filePartHead(
  filename: string | Buffer,
  type = 'application/octet-stream',
  extraHeaders = '',
): Buffer {
  return Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="`),
    Buffer.isBuffer(filename) ? filename : Buffer.from(filename, 'utf8'),
    Buffer.from(`"\r\nContent-Type: ${type}\r\n${extraHeaders}\r\n`),
  ]);
}

/** A complete body with one file part per entry. */
export function multipartBody(files: { head: Buffer; bytes: Buffer }[]): Buffer {
  const parts = files.flatMap((f) => [f.head, f.bytes, Buffer.from('\r\n')]);
  return Buffer.concat([...parts, Buffer.from(`--${BOUNDARY}--\r\n`)]);
}

/** `count` tiny text fields, generated lazily in chunks of 1,000 parts. */
export function* manyFieldParts(count: number): Generator<Buffer> {
  const one = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="note"\r\n\r\nx\r\n`;
  for (let i = 0; i < count; i += 1000) yield Buffer.from(one.repeat(Math.min(1000, count - i)));
  yield Buffer.from(`--${BOUNDARY}--\r\n`);
}

/** `head`, then `total` random bytes in 64 KiB chunks (the file never closes its part). */
export function* fileOfSize(head: Buffer, total: number): Generator<Buffer> {
  yield head;
  for (let sent = 0; sent < total; sent += 65_536) yield randomBytes(65_536);
}
