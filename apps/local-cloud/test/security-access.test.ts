/**
 * Who may call local-cloud (docs/security.md, "Local stack"): only requests
 * that carry its token, are addressed to a loopback host and do not come
 * from a web page; bodies are bounded before they are read; its files are
 * private to the user.
 */
import {
  chmodSync,
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningLocalCloud } from '../src/server.ts';
import { api, PARENT, removeDir, startCloud, tempDir } from './helpers.ts';

let dir: string;
let cloud: RunningLocalCloud;

beforeAll(async () => {
  dir = tempDir();
  cloud = await startCloud(join(dir, 'data'));
});
afterAll(async () => {
  await cloud.stop();
  removeDir(dir);
});

interface RawAnswer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: Google JSON.
  body: any;
}

/** A request with exactly the headers given (node:http lets a test set Host). */
function raw(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string | Buffer,
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(
      { host: '127.0.0.1', port: cloud.port, method, path, headers, setHost: false },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
        });
      },
    );
    // The server answers a refused body and closes without reading it: writing the rest
    // may then fail (EPIPE) after the answer arrived, which is what the test looks at.
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    req.end(body);
  });
}

const host = () => `127.0.0.1:${cloud.port}`;
const bearer = () => `Bearer ${cloud.oauthToken}`;
const queueBody = (id: string) => JSON.stringify({ name: `${PARENT}/queues/${id}` });

async function queueExists(id: string): Promise<boolean> {
  return (await api(cloud, 'GET', `/v2/${PARENT}/queues/${id}`)).status === 200;
}

describe('local-cloud answers only callers with its token', () => {
  it('answers a request without a token with 401 UNAUTHENTICATED in Google’s error shape', async () => {
    const res = await api({ url: cloud.url }, 'GET', `/v2/${PARENT}/queues`);
    expect(res, JSON.stringify(res)).toMatchObject({
      status: 401,
      body: {
        error: {
          code: 401,
          status: 'UNAUTHENTICATED',
          message: expect.stringMatching(
            /^Request is missing required authentication credential\. Expected OAuth 2 access token/,
          ),
        },
      },
    });
    expect(res.body.error.message).toContain(cloud.tokenFile);
  });

  it('answers a wrong token with 401 and creates nothing', async () => {
    const res = await api({ url: cloud.url }, 'POST', `/v2/${PARENT}/queues`, undefined, {
      authorization: 'Bearer not-the-token-at-all',
    });
    expect(res.status).toBe(401);
    expect(res.body.error.message).toMatch(/^Request had invalid authentication credentials/);
    const created = await raw(
      'POST',
      `/v2/${PARENT}/queues`,
      { host: host(), authorization: 'Bearer wrong', 'content-type': 'application/json' },
      queueBody('wrong-token'),
    );
    expect(created.status).toBe(401);
    expect(await queueExists('wrong-token')).toBe(false);
  });

  it('keeps its token in a 0600 file and the same token across restarts', async () => {
    const file = join(dir, 'data', 'local-cloud.token');
    expect(cloud.tokenFile).toBe(file);
    expect(readFileSync(file, 'utf8')).toBe(cloud.oauthToken);
    expect(cloud.oauthToken.length).toBeGreaterThanOrEqual(40);
    const second = await startCloud(join(dir, 'data-2'));
    await second.stop();
    const third = await startCloud(join(dir, 'data-2'));
    await third.stop();
    expect(second.oauthToken).not.toBe(cloud.oauthToken);
    expect(third.oauthToken).toBe(second.oauthToken);
  });

  it('will not start on a token file that is a symlink (a token someone else planted)', async () => {
    const data = join(dir, 'planted');
    mkdirSync(data);
    writeFileSync(join(dir, 'known-token'), 'a-token-the-attacker-knows-0123456789');
    symlinkSync(join(dir, 'known-token'), join(data, 'local-cloud.token'));
    await expect(startCloud(data)).rejects.toThrow(/not a regular file owned by this user/);
  });
});

describe('local-cloud refuses DNS rebinding and web pages, even with its token', () => {
  it('refuses a request whose Host is not a loopback name (DNS rebinding) and creates nothing', async () => {
    for (const foreign of [`rebind.attacker.example:${cloud.port}`, 'localhost.attacker.example']) {
      const res = await raw(
        'POST',
        `/v2/${PARENT}/queues`,
        { host: foreign, authorization: bearer(), 'content-type': 'application/json' },
        queueBody('rebound'),
      );
      expect(res, JSON.stringify(res)).toMatchObject({
        status: 403,
        body: { error: { code: 403, status: 'PERMISSION_DENIED' } },
      });
      expect(res.body.error.message).toContain('loopback');
    }
    expect(await queueExists('rebound')).toBe(false);
  });

  it('accepts every loopback spelling of its host', async () => {
    for (const name of [
      host(),
      `localhost:${cloud.port}`,
      `LOCALHOST:${cloud.port}`,
      '127.1.2.3',
    ]) {
      const res = await raw('GET', `/v2/${PARENT}/queues`, { host: name, authorization: bearer() });
      expect(res.status, name).toBe(200);
    }
  });

  it('refuses requests that carry a browser Origin or a cross-site / same-site Sec-Fetch-Site', async () => {
    const cases: Record<string, string>[] = [
      { origin: 'https://attacker.example' },
      { origin: `http://127.0.0.1:${cloud.port + 1}` },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { 'sec-fetch-site': 'same-origin' },
    ];
    for (const extra of cases) {
      const res = await raw(
        'POST',
        `/v2/${PARENT}/queues`,
        { host: host(), authorization: bearer(), 'content-type': 'text/plain', ...extra },
        queueBody('from-a-page'),
      );
      expect(res.status, JSON.stringify(extra)).toBe(403);
      expect(res.body.error.message).toContain('web pages');
    }
    expect(await queueExists('from-a-page')).toBe(false);
  });

  it('serves a request a person typed into the address bar (Sec-Fetch-Site: none) only with the token', async () => {
    const typed = await raw('GET', `/v2/${PARENT}/queues`, {
      host: host(),
      'sec-fetch-site': 'none',
    });
    expect(typed.status).toBe(401);
  });
});

describe('local-cloud bounds what it reads', () => {
  it('refuses a body over 1 MiB with 400 INVALID_ARGUMENT before reading it', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 0x20);
    const res = await raw(
      'POST',
      `/v2/${PARENT}/queues`,
      { host: host(), authorization: bearer(), 'content-type': 'application/json' },
      big,
    );
    expect(res, JSON.stringify(res)).toMatchObject({
      status: 400,
      body: {
        error: {
          status: 'INVALID_ARGUMENT',
          message: 'Request payload size exceeds the limit: 1048576 bytes.',
        },
      },
    });
  });

  it('refuses an oversized chunked body (no Content-Length) the same way', async () => {
    const res = await raw(
      'POST',
      `/v2/${PARENT}/queues`,
      {
        host: host(),
        authorization: bearer(),
        'content-type': 'application/json',
        'transfer-encoding': 'chunked',
      },
      Buffer.alloc(1024 * 1024 + 10, 0x20),
    );
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('payload size exceeds');
  });
});

describe("local-cloud's data files", () => {
  it('creates local-cloud.db, its WAL and SHM files and the token file 0600', () => {
    const data = join(dir, 'data');
    for (const name of [
      'local-cloud.db',
      'local-cloud.db-wal',
      'local-cloud.db-shm',
      'local-cloud.token',
    ]) {
      expect((statSync(join(data, name)).mode & 0o777).toString(8), name).toBe('600');
    }
  });

  it('narrows an existing database and token file readable by others to 0600', async () => {
    const data = join(dir, 'lax');
    mkdirSync(data);
    const first = await startCloud(data);
    await first.stop();
    for (const name of ['local-cloud.db', 'local-cloud.token']) chmodSync(join(data, name), 0o644);
    closeSync(openSync(join(data, 'local-cloud.db-wal'), 'a', 0o666));
    chmodSync(join(data, 'local-cloud.db-wal'), 0o666);
    const second = await startCloud(data);
    try {
      for (const name of ['local-cloud.db', 'local-cloud.db-wal', 'local-cloud.token']) {
        expect((statSync(join(data, name)).mode & 0o777).toString(8), name).toBe('600');
      }
    } finally {
      await second.stop();
    }
  });
});
