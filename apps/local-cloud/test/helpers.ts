/**
 * Test helpers: a local-cloud on a temp data dir and loopback port, a small
 * JSON client for its REST API, and a recording HTTP target for tasks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type RunningLocalCloud,
  type StartLocalCloudOptions,
  startLocalCloud,
} from '../src/server.ts';

/** The project/location every test uses. */
export const PARENT = 'projects/p1/locations/us-central1';

/** A workflow that GETs `args.url` and returns the status. */
export const CALL_URL_WORKFLOW = `
main:
  params: [args]
  steps:
    - call:
        call: http.get
        args:
          url: \${args.url}
        result: r
    - done:
        return: \${r.code}
`;

/** A fresh temp directory (removed by `removeDir`). */
export function tempDir(prefix = 'local-cloud-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Removes a temp directory. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Starts local-cloud on a temp data dir with a fixed OIDC token (its own token is generated). */
export function startCloud(
  dataDir: string,
  options: Partial<StartLocalCloudOptions> = {},
): Promise<RunningLocalCloud> {
  return startLocalCloud({
    dataDir,
    oidcToken: 'local-oidc-token-for-tests',
    killGraceMs: 300,
    ...options,
  });
}

/** A JSON response with its status. */
export interface JsonResponse {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary Google JSON.
  body: any;
}

/**
 * Calls the API with local-cloud's token (when `cloud` has one and `headers`
 * set no Authorization); the result prints whole when an assertion on it fails.
 */
export async function api(
  cloud: { url: string; oauthToken?: string },
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<JsonResponse> {
  const auth: Record<string, string> =
    cloud.oauthToken === undefined ? {} : { authorization: `Bearer ${cloud.oauthToken}` };
  const res = await fetch(`${cloud.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...auth, ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** One request received by the target. */
export interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A recording HTTP target whose answers the test scripts. */
export interface Target {
  url: string;
  received: Received[];
  /** Decides the status per request (default 200); may return a promise to hold the request. */
  respond: (req: Received) => number | Promise<number>;
  /** Highest number of requests seen open at once. */
  maxConcurrent: number;
  close(): Promise<void>;
}

/** Starts a recording HTTP target on loopback. */
export async function startTarget(): Promise<Target> {
  let open = 0;
  const target: Target = {
    url: '',
    received: [],
    respond: () => 200,
    maxConcurrent: 0,
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    open++;
    target.maxConcurrent = Math.max(target.maxConcurrent, open);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      target.received.push(r);
      void Promise.resolve(target.respond(r)).then((status) => {
        open--;
        res.writeHead(status).end();
      });
    });
    res.on('close', () => {
      if (!res.writableEnded) open--;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  target.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  target.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return target;
}

/** Polls `check` every 25 ms until it returns a value other than undefined (bounded). */
export async function waitFor<T>(
  check: () => T | undefined | Promise<T | undefined>,
  what: string,
  limitMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** What a recording proxy saw: every request local-cloud tried to send off the machine. */
export interface RecordingProxy {
  /** `http://127.0.0.1:PORT`, for HTTP_PROXY. */
  url: string;
  /** Requests as the far host would have received them (absolute URL, headers, body). */
  received: (Received & { host: string })[];
  close(): Promise<void>;
}

/**
 * An HTTP proxy on loopback standing in for the rest of the network: Node's
 * fetch with NODE_USE_ENV_PROXY tunnels every non-loopback request through it
 * (CONNECT), and it answers 200 itself while recording what arrived — so a
 * test sees exactly what local-cloud would have sent to another host.
 */
export async function startRecordingProxy(): Promise<RecordingProxy> {
  const received: RecordingProxy['received'] = [];
  const farEnd = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        host: req.headers.host ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  const proxy: Server = createServer((req, res) => {
    // Absolute-form requests (a client that does not tunnel plain HTTP): same recording.
    farEnd.emit('request', req, res);
  });
  proxy.on('connect', (_req, socket, head) => {
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) socket.unshift(head);
    farEnd.emit('connection', socket);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    received,
    close: () =>
      new Promise((resolve) => {
        proxy.closeAllConnections();
        farEnd.closeAllConnections();
        proxy.close(() => resolve());
      }),
  };
}

/**
 * Calls the API the way gcloud reaches the Cloud Run v1 surface: in proxy
 * form, addressed to `<region>-localhost:PORT` (or to `localhost:PORT`, the
 * global host, when `region` is undefined), with local-cloud's token.
 */
export function apiViaProxy(
  cloud: { port: number; oauthToken: string },
  region: string | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<JsonResponse> {
  const host = `${region === undefined ? '' : `${region}-`}localhost:${cloud.port}`;
  const text = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: cloud.port,
        method,
        path: `http://${host}${path}`,
        setHost: false,
        headers: {
          host,
          authorization: `Bearer ${cloud.oauthToken}`,
          'content-type': 'application/json',
          ...(text === undefined ? {} : { 'content-length': String(Buffer.byteLength(text)) }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const answer = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: answer ? JSON.parse(answer) : undefined });
        });
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}
