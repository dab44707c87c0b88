/** Graceful close of the HTTP server within Cloud Run's shutdown window (main.ts, writer/single-writer.ts). */
import type { Server } from 'node:http';
import type { ServerType } from '@hono/node-server';
import { coerceError, type Logger } from '@slideshow/runtime';

/**
 * Stops accepting connections, closes idle keep-alive ones, lets in-flight
 * requests finish, and after `graceMs` (Cloud Run sends SIGKILL 10 s after
 * SIGTERM) closes whatever is still open so the relay and the database can
 * still be closed in time.
 */
export async function closeServer(
  server: ServerType,
  graceMs: number,
  logger: Logger,
): Promise<void> {
  const http = server as Server;
  const closed = new Promise<void>((resolve) => {
    http.close((error) => {
      if (error) logger.warn('server close', { error: coerceError(error) });
      resolve();
    });
  });
  http.closeIdleConnections();
  // Connections that finish a request while closing become idle: close them too.
  const idle = setInterval(() => http.closeIdleConnections(), 100);
  const timer = setTimeout(() => {
    logger.warn('shutdown grace period over; closing open connections', { graceMs });
    http.closeAllConnections();
  }, graceMs);
  await closed;
  clearInterval(idle);
  clearTimeout(timer);
}
