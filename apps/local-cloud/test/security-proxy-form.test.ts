/**
 * gcloud reaches local-cloud's Cloud Run v1 surface with local-cloud as its
 * HTTP proxy (regional-host.ts): the request target is absolute and names
 * `<region>-localhost`. That name is accepted only in that form, the token is
 * still required, other names are refused, and local-cloud tunnels nothing
 * (CONNECT is refused).
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningLocalCloud } from '../src/server.ts';
import { PARENT, removeDir, startCloud, tempDir } from './helpers.ts';

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

/** A request whose request-line target and headers are exactly the ones given. */
function send(
  target: string,
  headers: Record<string, string>,
  // biome-ignore lint/suspicious/noExplicitAny: Google JSON.
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: cloud.port, method: 'GET', path: target, headers, setHost: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const auth = () => ({ authorization: `Bearer ${cloud.oauthToken}` });
const queues = `/v2/${PARENT}/queues`;

describe('requests in proxy form', () => {
  it('serves <region>-localhost in proxy form, with the token', async () => {
    const host = `us-central1-localhost:${cloud.port}`;
    const res = await send(`http://${host}${queues}`, { host, ...auth() });
    expect(res, JSON.stringify(res)).toMatchObject({ status: 200, body: { queues: [] } });
  });

  it('serves a loopback host in proxy form too (gcloud sends every call through its proxy)', async () => {
    const host = `127.0.0.1:${cloud.port}`;
    const res = await send(`http://${host}${queues}`, { host, ...auth() });
    expect(res.status, JSON.stringify(res)).toBe(200);
  });

  it('refuses <region>-localhost in the usual origin form (what a rebound page would send)', async () => {
    const res = await send(queues, { host: `us-central1-localhost:${cloud.port}`, ...auth() });
    expect(res, JSON.stringify(res)).toMatchObject({
      status: 403,
      body: { error: { status: 'PERMISSION_DENIED' } },
    });
  });

  it('refuses a proxy-form target naming another host, whatever the Host header says', async () => {
    for (const authority of [
      'attacker.example',
      'evil-localhost',
      'us-central1-localhost.attacker.example',
    ]) {
      const res = await send(`http://${authority}${queues}`, {
        host: `127.0.0.1:${cloud.port}`,
        ...auth(),
      });
      expect(res.status, authority).toBe(403);
      expect(res.body.error.message).toContain(JSON.stringify(authority));
    }
  });

  it('still needs the token', async () => {
    const host = `us-central1-localhost:${cloud.port}`;
    const res = await send(`http://${host}${queues}`, { host });
    expect(res.status).toBe(401);
  });

  it('tunnels nothing: CONNECT is answered 403 and the connection closed', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(cloud.port, '127.0.0.1', () => {
        socket.write(
          'CONNECT run.googleapis.com:443 HTTP/1.1\r\nHost: run.googleapis.com:443\r\n\r\n',
        );
      });
      let text = '';
      socket.on('data', (c: Buffer) => {
        text += c.toString('utf8');
      });
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 403 Forbidden');
  });
});
