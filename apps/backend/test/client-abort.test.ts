/**
 * A client that goes away mid-body (the admin page's Cancel aborts the upload
 * request; a browser closed during a session chunk) is not a server failure:
 * it is logged once, at INFO, as "client closed the request" with the code
 * CLIENT_CLOSED_REQUEST and no stack, and leaves nothing stored. Over a real
 * node:http server on loopback: the client waits for `100 Continue` (the
 * request is being handled), sends part of the body and destroys its socket.
 */
import { existsSync, readdirSync } from 'node:fs';
import { type ClientRequest, request } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loggedPath } from '../src/routes/upload-sessions.ts';
import { startTestBackend, type TestBackend } from '../src/testing/test-backend.ts';
import { sleep } from './backend-process.ts';
import { makePng, memoryLogger } from './helpers.ts';
import { filePartHead, MULTIPART_TYPE } from './multipart-bodies.ts';

const CRLF = Buffer.from('\r\n');

/** Waits (bounded) for `condition`; polling, never a timing assertion. */
async function until(condition: () => boolean, what: string, limitMs = 15_000) {
  for (let waited = 0; !condition(); waited += 20) {
    if (waited > limitMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Starts a request that waits for `100 Continue`; resolves once the server is handling it. */
function begin(url: string, method: string, headers: Record<string, string>) {
  const req = request(url, { method, headers: { ...headers, Expect: '100-continue' } });
  // The answer never comes (or is never read): the client is about to go away.
  req.on('response', (res) => res.resume());
  req.on('error', () => {});
  return new Promise<ClientRequest>((resolve) => req.once('continue', () => resolve(req)));
}

describe('a client that closes its request mid-body', () => {
  let backend: TestBackend | undefined;
  let lines: Record<string, unknown>[];
  afterEach(async () => {
    await backend?.stop();
  });

  async function start() {
    const memory = memoryLogger('DEBUG');
    lines = memory.lines;
    backend = await startTestBackend({ logger: memory.logger, relay: false });
    return backend;
  }

  /** The lines at INFO and above once the request's own log line is written. */
  async function linesOf(path: string) {
    await until(
      () => lines.some((l) => l.message === 'request' && l.path === path),
      `the log line of ${path}`,
    );
    return lines.filter((l) => l.severity !== 'DEBUG');
  }

  const expectOneQuietLine = (logged: Record<string, unknown>[]) => {
    expect(logged.filter((l) => l.severity === 'ERROR' || l.severity === 'WARNING')).toEqual([]);
    const closed = logged.filter((l) => JSON.stringify(l).includes('CLIENT_CLOSED_REQUEST'));
    expect(closed, JSON.stringify(logged)).toEqual([
      expect.objectContaining({
        severity: 'INFO',
        message: 'client closed the request',
        code: 'CLIENT_CLOSED_REQUEST',
      }),
    ]);
    expect(closed[0]).not.toHaveProperty('error');
    expect(JSON.stringify(logged)).not.toMatch(/VALIDATION_FAILED|INTERNAL|stack/);
  };

  it('logs an upload aborted while its file is being stored once, at INFO, and keeps nothing', async () => {
    const b = await start();
    const req = await begin(`${b.url}/api/admin/upload`, 'POST', {
      Authorization: `Bearer ${b.adminToken}`,
      'Content-Type': MULTIPART_TYPE,
    });
    req.write(filePartHead('cancelled.png', 'image/png'));
    req.write(Buffer.concat([makePng(8, 8, 7), Buffer.alloc(512 * 1024, 7)]));
    // The server is writing the original once a temp file exists in the store.
    const tmp = join(b.storeRoot, '.objectstore', 'tmp');
    await until(
      () => existsSync(tmp) && readdirSync(tmp).length > 0,
      'the upload to reach storage',
    );
    req.destroy();

    expectOneQuietLine(await linesOf('/api/admin/upload'));
    expect(readdirSync(tmp)).toEqual([]);
    expect(existsSync(join(b.storeRoot, 'originals'))).toBe(false);
    expect(b.db.prepare('SELECT count(*) AS n FROM images').get()).toEqual({ n: 0 });
    expect(b.db.prepare('SELECT count(*) AS n FROM pending_originals').get()).toEqual({ n: 0 });
  });

  it('keeps a file completed before the client closed the request, and logs the close once', async () => {
    const b = await start();
    const req = await begin(`${b.url}/api/admin/upload`, 'POST', {
      Authorization: `Bearer ${b.adminToken}`,
      'Content-Type': MULTIPART_TYPE,
    });
    req.write(Buffer.concat([filePartHead('kept.png', 'image/png'), makePng(8, 8, 8), CRLF]));
    req.write(filePartHead('cancelled.png', 'image/png'));
    req.write(Buffer.concat([makePng(8, 8, 9), Buffer.alloc(512 * 1024, 9)]));
    const originals = join(b.storeRoot, 'originals');
    const tmp = join(b.storeRoot, '.objectstore', 'tmp');
    await until(
      () => existsSync(originals) && readdirSync(originals).length === 1,
      'the first file to be stored',
    );
    await until(
      () => existsSync(tmp) && readdirSync(tmp).length > 0,
      'the second to reach storage',
    );
    req.destroy();

    expectOneQuietLine(await linesOf('/api/admin/upload'));
    expect(readdirSync(originals)).toHaveLength(1);
    expect(b.db.prepare('SELECT original_name FROM images').all()).toEqual([
      { original_name: 'kept.png' },
    ]);
    expect(b.db.prepare('SELECT count(*) AS n FROM pending_originals').get()).toEqual({ n: 0 });
  });

  it('logs a session chunk aborted mid-body once, at INFO', async () => {
    const b = await start();
    const size = 1024 * 1024;
    const opened = await b.adminFetch('/api/admin/upload-sessions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'big.png', size }),
    });
    expect(opened.status).toBe(201);
    const { sessionUrl } = (await opened.json()) as { sessionUrl: string };
    const path = new URL(sessionUrl, b.url).pathname;
    const req = await begin(new URL(path, b.url).href, 'PUT', {
      'Content-Length': String(size),
      'Content-Range': `bytes 0-${size - 1}/${size}`,
    });
    req.write(Buffer.alloc(256 * 1024, 1));
    req.destroy();

    // The access log names the route, not the token (its only credential).
    expectOneQuietLine(await linesOf(loggedPath(path)));
  });
});
