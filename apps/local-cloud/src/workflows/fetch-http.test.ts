/**
 * fetchHttp's response size limit over real HTTP on loopback: a body up to the
 * limit is returned, a larger one fails with ResourceLimitError whether its
 * size is declared (Content-Length) or only streamed (chunked), and the
 * chunked one is not read to its end.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { HttpCallRequest } from './context.ts';
import { WorkflowRuntimeError } from './errors.ts';
import { fetchHttp } from './fetch-http.ts';

const LIMIT = 64 * 1024;

/** A GET of `url` as the engine makes one. */
const get = (url: string): HttpCallRequest => ({
  method: 'GET',
  url,
  headers: {},
  timeoutSeconds: 30,
});

interface BodyServer {
  url: string;
  /** Bytes the server wrote of its chunked answer before the client went away. */
  written(): number;
  close(): Promise<void>;
}

/** Answers `/declared/N` with N bytes of JSON and a Content-Length, `/chunked` with an endless stream. */
async function bodyServer(): Promise<BodyServer> {
  let written = 0;
  const server: Server = createServer((req, res) => {
    const declared = /^\/declared\/(\d+)$/.exec(req.url ?? '');
    if (declared) {
      const body = JSON.stringify('x'.repeat(Number(declared[1]) - 2));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const chunk = Buffer.alloc(16 * 1024, 1);
    // Bounded: 64 MiB at most, far past the limit; stops when the client goes away.
    const send = (): void => {
      while (written < 64 * 1024 * 1024 && !res.destroyed) {
        written += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', send);
          return;
        }
      }
      res.end();
    };
    send();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    written: () => written,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('fetchHttp: the response size limit', () => {
  let server: BodyServer | undefined;
  afterEach(async () => {
    await server?.close();
  });

  it('returns a body of exactly the limit', async () => {
    server = await bodyServer();
    const response = await fetchHttp(get(`${server.url}/declared/${LIMIT}`), {
      maxResponseBytes: LIMIT,
    });
    expect(response.code).toBe(200);
    expect((response.body as string).length).toBe(LIMIT);
  });

  it('refuses a larger declared body with ResourceLimitError', async () => {
    server = await bodyServer();
    const failed = await fetchHttp(get(`${server.url}/declared/${LIMIT + 1}`), {
      maxResponseBytes: LIMIT,
    }).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(WorkflowRuntimeError);
    expect((failed as WorkflowRuntimeError).value.tags).toEqual(['ResourceLimitError']);
  });

  it('stops reading a chunked body once it passes the limit', async () => {
    server = await bodyServer();
    const failed = await fetchHttp(get(`${server.url}/chunked`), { maxResponseBytes: LIMIT }).catch(
      (error: unknown) => error,
    );
    expect((failed as WorkflowRuntimeError).value.tags).toEqual(['ResourceLimitError']);
    // The server stopped long before its 64 MiB: the client cancelled the stream.
    for (let i = 0; i < 100 && server.written() < LIMIT; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(server.written()).toBeLessThan(16 * 1024 * 1024);
  });
});
