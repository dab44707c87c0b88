/**
 * Test helpers: a local-cloud on a temp data dir and loopback port, a small
 * JSON client for its REST API, and a recording HTTP target for tasks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
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
