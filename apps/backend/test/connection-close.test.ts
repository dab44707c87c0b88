/**
 * An answer sent before its request's body has fully arrived closes the
 * connection (`Connection: close`, src/server-options.ts): the rest of the body
 * is left unread and the socket is destroyed soon after, so a keep-alive client
 * must not send its next request on it. Driven over a real node:http server on
 * loopback with a keep-alive agent of one socket, as a browser reuses its
 * connection for the next file's upload.
 */
import { Agent, createServer, type IncomingHttpHeaders, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ClosingWhenBodyUnread } from '../src/closing-response.ts';
import { startTestBackend, type TestBackend } from '../src/testing/test-backend.ts';
import { BOUNDARY, MULTIPART_TYPE } from './multipart-bodies.ts';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** Whether the request went on a connection an earlier request had used. */
  reusedSocket: boolean;
}

/** One request through `agent`; resolves with the whole answer (even if the body was not all sent). */
function send(
  agent: Agent,
  url: string,
  init: { method: string; headers?: Record<string, string>; body?: Buffer },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method, agent, headers: init.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          reusedSocket: req.reusedSocket,
        }),
      );
    });
    // Writing the rest of a refused body fails once the server closes: the answer is what counts.
    req.on('error', reject);
    req.end(init.body);
  });
}

/** A multipart body whose only part is `bytes` bytes named `other` (counted as overhead). */
function otherPart(bytes: number): Buffer {
  return Buffer.concat([
    Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="other"; filename="x.bin"\r\n\r\n`,
    ),
    Buffer.alloc(bytes, 0x61),
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ]);
}

describe('answers sent before the request body has arrived', () => {
  let backend: TestBackend;
  let agent: Agent;
  beforeAll(async () => {
    backend = await startTestBackend({ relay: false });
  });
  afterAll(async () => {
    await backend?.stop();
  });
  beforeEach(() => {
    agent = new Agent({ keepAlive: true, maxSockets: 1 });
  });
  afterEach(() => agent.destroy());

  /** The next request on the agent, right after `refused`: it must get its answer. */
  const healthzAfter = async (refused: Answer) => {
    const health = await send(agent, `${backend.url}/healthz`, { method: 'GET' });
    expect(health.status, health.body).toBe(200);
    expect(health.reusedSocket).toBe(false);
    expect(refused.headers.connection, JSON.stringify(refused)).toBe('close');
  };

  it('closes the connection after an upload stopped by a limit, and the next request succeeds', async () => {
    const body = otherPart(3 * 1024 * 1024);
    const refused = await send(agent, `${backend.url}/api/admin/upload`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${backend.adminToken}`,
        'Content-Type': MULTIPART_TYPE,
        'Content-Length': String(body.length),
      },
      body,
    });
    expect(refused.status, refused.body).toBe(413);
    await healthzAfter(refused);
  });

  it('closes the connection after refusing a declared Content-Length over a body limit', async () => {
    const body = Buffer.alloc(3 * 1024 * 1024, 0x61);
    const refused = await send(agent, `${backend.url}/api/upload-sessions/${'a'.repeat(43)}`, {
      method: 'PUT',
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(body.length),
        'Content-Range': `bytes 0-${body.length - 1}/*`,
      },
      body,
    });
    expect(refused.status, refused.body).toBe(413);
    expect(refused.body).toContain('PAYLOAD_TOO_LARGE');
    await healthzAfter(refused);
  });

  it('keeps the connection alive after a refusal whose body was read', async () => {
    const refused = await send(agent, `${backend.url}/api/admin/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: Buffer.from(JSON.stringify({ password: 'not the password' })),
    });
    expect(refused.status, refused.body).toBe(401);
    expect(refused.headers.connection).toBe('keep-alive');
    const health = await send(agent, `${backend.url}/healthz`, { method: 'GET' });
    expect(health.status, health.body).toBe(200);
    expect(health.reusedSocket).toBe(true);
  });
});

describe('an answer written at once, in the request event', () => {
  it("keeps a bodiless request's connection (the gate's /readyz), and closes one whose body is unread", async () => {
    // As the single-writer gate answers /readyz: synchronously, before Node's parser has marked
    // even a bodiless GET complete.
    const server = createServer({ ServerResponse: ClosingWhenBodyUnread }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await send(agent, `${url}/readyz`, { method: 'GET' });
      expect(first.headers.connection).toBe('keep-alive');
      const second = await send(agent, `${url}/readyz`, { method: 'GET' });
      expect(second.reusedSocket).toBe(true);
      const posted = await send(agent, `${url}/upload`, {
        method: 'POST',
        headers: { 'Content-Length': String(256 * 1024) },
        body: Buffer.alloc(256 * 1024, 1),
      });
      expect(posted.headers.connection).toBe('close');
    } finally {
      agent.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
