/**
 * A loopback HTTP server for the filesystem adapter's upload sessions, for
 * the storage package's own tests: `PUT <sessionPath><token>` goes to
 * `uploads.receive` and is answered as Cloud Storage answers (`308` with
 * `Range`, `200` with the object, `404` for an unknown session, `400` for a
 * range it cannot take). The backend serves the same route with its body
 * limits and idle timeout (apps/backend/src/routes/upload-sessions.ts).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { coerceError } from '@slideshow/runtime';
import type { FsUploadSessions } from '../fs-uploads.ts';
import { persistedRange } from '../upload-range.ts';

/** A running session server. */
export interface FsUploadServer {
  /** Base URL (`http://127.0.0.1:PORT`) that session paths resolve against. */
  url: string;
  close(): Promise<void>;
}

const STATUS: Record<string, number> = { NOT_FOUND: 404, VALIDATION_FAILED: 400, CONFLICT: 409 };

/** Serves `uploads` under `sessionPath` on 127.0.0.1 with an OS-chosen port. */
export async function startFsUploadServer(
  uploads: FsUploadSessions,
  sessionPath: string,
): Promise<FsUploadServer> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method !== 'PUT' || !pathname.startsWith(sessionPath)) {
      res.writeHead(404).end();
      return;
    }
    uploads
      .receive(pathname.slice(sessionPath.length), {
        contentRange: req.headers['content-range'],
        body: req,
      })
      .then((answer) => {
        if (answer.status === 200) {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ name: answer.object.key, size: String(answer.object.bytes) }));
          return;
        }
        const range = persistedRange(answer.received);
        res.writeHead(308, range ? { Range: range } : {});
        res.end();
      })
      .catch((error: unknown) => {
        const e = coerceError(error);
        req.resume();
        res.writeHead(STATUS[e.code] ?? 500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { code: e.code, message: e.message } }));
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
