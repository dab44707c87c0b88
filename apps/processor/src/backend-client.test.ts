import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppError, createLogger, silentLogger } from '@slideshow/runtime';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBackendClient } from './backend-client.ts';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

const spec = {
  imageId: 'img-1',
  generation: 2,
  sourceKey: 'originals/img-1',
  sha256: 'a'.repeat(64),
  preset: 'web-v1',
  variantPrefix: 'variants/img-1/g2/',
  status: 'queued',
};

let server: Server;
let baseUrl: string;
let handlers: Handler[] = [];
let seen: { method: string; url: string; authorization: string | undefined; body: string }[] = [];

beforeAll(async () => {
  // A loopback HTTP server answering with scripted responses, one per request.
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        authorization: req.headers.authorization,
        body,
      });
      const handler = handlers.shift();
      if (handler) handler(req, body, res);
      else res.writeHead(500).end('no handler left');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
});

beforeEach(() => {
  handlers = [];
  seen = [];
});

const json =
  (status: number, body: unknown): Handler =>
  (_req, _body, res) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
const problem = (status: number, code: string, message = 'nope') =>
  json(status, { error: { code, message, requestId: 'req-1' } });

const client = (deadlineMs = 5_000) =>
  createBackendClient({
    baseUrl,
    credentials: { authorizationHeader: async () => 'Bearer test-secret' },
    logger: silentLogger,
    deadlineMs,
    requestTimeoutMs: 2_000,
  });

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('backend client', () => {
  it('fetches and validates the job spec with the callback credential', async () => {
    handlers.push(json(200, spec));
    await expect(client().jobSpec('img-1')).resolves.toEqual(spec);
    expect(seen[0]).toMatchObject({
      method: 'GET',
      url: '/api/processing/img-1',
      authorization: 'Bearer test-secret',
    });
  });

  it('retries a 503 and a 429 and then succeeds', async () => {
    handlers.push(problem(503, 'INTERNAL'), problem(429, 'RATE_LIMITED'), json(200, { ok: true }));
    await client().started('img-1', { generation: 2, execution: 'ex-1', attempt: 0 });
    expect(seen.map((s) => s.url)).toEqual([
      '/api/processing/img-1/started',
      '/api/processing/img-1/started',
      '/api/processing/img-1/started',
    ]);
    expect(JSON.parse(seen[2]?.body ?? '')).toEqual({
      generation: 2,
      execution: 'ex-1',
      attempt: 0,
    });
  });

  it('logs the retries of a call failing for less than warnAfterMs at INFO, and at WARNING after', async () => {
    const severities = async (warnAfterMs: number) => {
      const lines: { severity: string; message: string; failingMs?: number }[] = [];
      const logger = createLogger({
        stream: {
          write(line: string) {
            lines.push(JSON.parse(line));
            return true;
          },
        },
      });
      handlers.push(problem(503, 'INTERNAL'), problem(503, 'INTERNAL'), json(200, { ok: true }));
      await createBackendClient({
        baseUrl,
        credentials: { authorizationHeader: async () => 'Bearer test-secret' },
        logger,
        deadlineMs: 5_000,
        warnAfterMs,
      }).started('img-1', { generation: 2 });
      const retries = lines.filter((l) => l.message === 'callback failed; retrying');
      expect(retries.every((l) => typeof l.failingMs === 'number')).toBe(true);
      return retries.map((l) => l.severity);
    };
    // A backend back within seconds (a restart) is no alarm; one failing longer is.
    expect(await severities(60_000)).toEqual(['INFO', 'INFO']);
    expect(await severities(0)).toEqual(['WARNING', 'WARNING']);
  });

  it('does not retry a stale generation and keeps its code', async () => {
    handlers.push(problem(409, 'STALE_GENERATION', 'generation 1 is stale'));
    const error = await rejection(client().started('img-1', { generation: 1 }));
    expect(error.code).toBe('STALE_GENERATION');
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(
      'POST /api/processing/img-1/started answered 409: generation 1 is stale',
    );
    expect(seen).toHaveLength(1);
  });

  it('reports a 404 as NOT_FOUND with its status', async () => {
    handlers.push(problem(404, 'NOT_FOUND', 'no such image'));
    const error = await rejection(client().jobSpec('gone'));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.context.status).toBe(404);
  });

  it('gives up on an unreachable backend after its deadline with a retryable error', async () => {
    const unreachable = createBackendClient({
      baseUrl: 'http://127.0.0.1:1',
      credentials: { authorizationHeader: async () => 'Bearer x' },
      logger: silentLogger,
      deadlineMs: 300,
    });
    const error = await rejection(unreachable.jobSpec('img-1'));
    expect(error.code).toBe('BACKEND_UNAVAILABLE');
    expect(error.retryable).toBe(true);
  });

  it('stops retrying when its signal is aborted and rethrows the abort reason', async () => {
    const controller = new AbortController();
    handlers.push((_req, _body, res) => {
      controller.abort(new AppError('TIMEOUT', 'terminated', { retryable: true }));
      res.writeHead(503).end('busy');
    });
    const error = await rejection(client(10_000).jobSpec('img-1', { signal: controller.signal }));
    expect(error.code).toBe('TIMEOUT');
    expect(seen).toHaveLength(1);
  });

  it('keeps the text of an error answer that is not JSON', async () => {
    handlers.push((_req, _body, res) => res.writeHead(400).end('<html>bad</html>'));
    const error = await rejection(
      client().failed('img-1', {
        generation: 0,
        code: 'CORRUPT_IMAGE',
        message: 'x',
        source: 'processor',
      }),
    );
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('answered 400: <html>bad</html>');
  });

  it('sends through an injected fetch when one is given', async () => {
    handlers.push(json(200, spec));
    const calls: string[] = [];
    const viaFetch = createBackendClient({
      baseUrl,
      credentials: { authorizationHeader: async () => 'Bearer test-secret' },
      logger: silentLogger,
      deadlineMs: 2_000,
      fetch: (input, init) => {
        calls.push(String(input));
        return fetch(input, init);
      },
    });
    await expect(viaFetch.jobSpec('img-1')).resolves.toEqual(spec);
    expect(calls).toEqual([`${baseUrl}/api/processing/img-1`]);
    expect(seen[0]?.authorization).toBe('Bearer test-secret');
  });
});
