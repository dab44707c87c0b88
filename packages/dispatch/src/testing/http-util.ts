/**
 * Small helpers shared by the loopback fakes of Google REST APIs in this
 * folder: taking a request (its body, recording, injected failures), Google's
 * JSON error shape, and listening on an OS-chosen loopback port.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { coerceError } from '@slideshow/runtime';

/** One HTTP request as a fake server saw it. */
export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or undefined when empty. */
  body: unknown;
}

/** Google's canonical status names by HTTP status (https://cloud.google.com/apis/design/errors#handling_errors). */
const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** Writes a JSON response. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Writes an error in Google's JSON error format: `{"error":{"code","message","status"}}`. */
export function sendGoogleError(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, {
    error: { code: status, message, status: STATUS_NAMES[status] ?? 'UNKNOWN' },
  });
}

/** Reads and parses a JSON request body (bounded to 10 MB). */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > 10 * 1024 * 1024) throw new Error('request body over 10 MB');
    chunks.push(buffer);
  }
  if (size === 0) return undefined;
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/** Starts `server` on 127.0.0.1 with an OS-chosen port and returns its base URL. */
export async function listenOnLoopback(server: Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

/** Stops `server`, dropping idle keep-alive sockets so close does not wait for them. */
export async function closeServer(server: Server): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

/** A request a fake took: its URL, method and parsed JSON body. */
export interface TakenRequest {
  url: URL;
  method: string;
  body: unknown;
}

/**
 * Takes one request for a fake: reads its JSON body, records it in `requests`
 * (undefined: not recorded) and, when a test injected failures, answers the next
 * one in Google's error shape. Resolves with the request, or undefined when it
 * was answered that way.
 */
export async function takeRequest(
  req: IncomingMessage,
  res: ServerResponse,
  requests: RecordedRequest[] | undefined,
  failures: number[],
): Promise<TakenRequest | undefined> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const body = await readJson(req);
  const method = req.method ?? 'GET';
  requests?.push({
    method,
    path: url.pathname,
    query: url.searchParams,
    headers: req.headers,
    body,
  });
  const failure = failures.shift();
  if (failure === undefined) return { url, method, body };
  sendGoogleError(res, failure, `injected failure ${failure}`);
  return undefined;
}

/** Creates an http server whose handler errors become Google-style 500s. */
export function createJsonServer(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): Server {
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const { message } = coerceError(error);
      if (!res.headersSent) sendGoogleError(res, 400, `bad request: ${message}`);
      else res.destroy();
    });
  });
  // As Google's front ends (610 s), not Node's 5 s: the client libraries pool sockets with no idle
  // limit, and a reuse in the event-loop turn of Node's close fails with EPIPE/ECONNRESET.
  server.keepAliveTimeout = 610_000;
  return server;
}
