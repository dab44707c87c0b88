import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ReadyAnswer } from '@slideshow/contracts';
import {
  type FakeCloudTasksServer,
  startFakeCloudTasksServer,
} from '@slideshow/dispatch/testing/fake-cloud-tasks';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePng } from './helpers.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

interface Running {
  child: ChildProcess;
  url: string;
  stdout(): string;
  stderr(): string;
}

/** Starts `node src/main.ts` and waits for its "listening" log line (bounded). */
function startBackend(env: Record<string, string>): Promise<Running> {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', METADATA_SERVER_DETECTION: 'none', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += String(d);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`backend did not start in 30 s:\n${stderr}`));
    }, 30_000);
    child.stderr?.on('data', (d) => {
      stderr += String(d);
      const line = stderr.split('\n').find((l) => l.includes('"backend listening"'));
      const match = line ? /"url":"(http:\/\/[^"]+)"/.exec(line) : null;
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1]!, stdout: () => stdout, stderr: () => stderr });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`backend exited with ${code}:\n${stderr}`));
    });
  });
}

/** GETs `url` over node:http with `host` as the Host header (fetch does not let it be set). */
function getWithHost(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { headers: { host }, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

function stop(running: Running): Promise<number | null> {
  return new Promise((resolve) => {
    running.child.once('exit', (code) => resolve(code));
    running.child.kill('SIGTERM');
  });
}

describe('the backend process (src/main.ts)', () => {
  let dir: string;
  let fake: FakeCloudTasksServer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'backend-main-'));
    fake = await startFakeCloudTasksServer();
  });
  afterAll(async () => {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts with no configuration, keeps its generated password, and relays after a restart', async () => {
    const env = { DATA_DIR: dir, CLOUD_TASKS_ENDPOINT: 'http://127.0.0.1:1' };
    const first = await startBackend(env);
    // A folder store is the local stack: no replica is expected, so it says so without a WARNING.
    const replication = first
      .stderr()
      .split('\n')
      .find((l) => l.includes('the database is not replicated'));
    expect(replication, first.stderr()).toContain('"severity":"INFO"');
    const password = readFileSync(join(dir, 'admin-password'), 'utf8').trim();
    expect(first.stdout()).toContain(`Admin password: ${password}`);
    const login = await fetch(`${first.url}/api/admin/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: first.url },
      body: JSON.stringify({ password }),
    });
    expect(login.status).toBe(200);
    const { csrfToken } = (await login.json()) as { csrfToken: string };
    const session = {
      Cookie: (login.headers.get('set-cookie') ?? '').split(';')[0]!,
      'X-CSRF-Token': csrfToken,
    };
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(makePng(8, 8, 1))]), 'a.png');
    const upload = await fetch(`${first.url}/api/admin/upload`, {
      method: 'POST',
      headers: {
        Cookie: (login.headers.get('set-cookie') ?? '').split(';')[0]!,
        Origin: first.url,
        'X-CSRF-Token': csrfToken,
      },
      body: form,
    });
    expect(upload.status).toBe(202);
    expect(await stop(first)).toBe(0);

    // Cloud Tasks was unreachable: the row is still there after the process ended.
    const db = new Database(join(dir, 'slideshow.db'), { readonly: true });
    expect(db.prepare('SELECT count(*) AS n FROM outbox').get()).toEqual({ n: 1 });
    db.close();

    const second = await startBackend({ ...env, CLOUD_TASKS_ENDPOINT: fake.url });
    expect(second.stdout()).toContain(`Admin password: ${password}`);
    for (let i = 0; i < 100 && fake.createdCount === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(fake.createdCount).toBe(1);
    const status = (await (await fetch(`${second.url}/status`)).json()) as {
      counts: Record<string, number>;
    };
    expect(status.counts.queued).toBe(1);
    // The same password after a restart: the admin is still logged in.
    const kept = await fetch(`${second.url}/api/admin/session`, { headers: session });
    expect(await kept.json()).toEqual({ authenticated: true, csrfToken });
    expect(await stop(second)).toBe(0);

    // Another password: every session of the old one ends.
    const third = await startBackend({ ...env, ADMIN_PASSWORD: 'a new password, after a leak' });
    const ended = await fetch(`${third.url}/api/admin/session`, { headers: session });
    expect(await ended.json()).toEqual({ authenticated: false, csrfToken: null });
    expect(await stop(third)).toBe(0);
  });

  it("answers /readyz only to a loopback Host in local mode: a DNS-rebound page never reads the lease's owner", async () => {
    const running = await startBackend({
      DATA_DIR: join(dir, 'readyz'),
      CLOUD_TASKS_ENDPOINT: 'http://127.0.0.1:1',
    });
    try {
      const { port } = new URL(running.url);
      const rebound = await getWithHost(`${running.url}/readyz`, `rebind.example:${port}`);
      expect(rebound.status, rebound.body).toBe(403);
      expect(JSON.parse(rebound.body).error.code).toBe('FORBIDDEN');
      expect(rebound.body).not.toContain('owner');
      const local = await getWithHost(`${running.url}/readyz`, `localhost:${port}`);
      expect(local.status, local.body).toBe(200);
      expect(JSON.parse(local.body)).toMatchObject({ ready: true, owner: expect.any(String) });
    } finally {
      expect(await stop(running)).toBe(0);
    }
  });

  it('answers /readyz in production with the phase alone: anyone may ask, so it names no lease owner', async () => {
    const data = join(dir, 'production');
    const running = await startBackend({
      MODE: 'production',
      HOST: '127.0.0.1',
      DATA_DIR: data,
      STORAGE_URL: pathToFileURL(join(data, 'storage')).href,
      PUBLIC_URL: 'https://backend-abc123-ew.a.run.app',
      PUBLIC_MEDIA_BASE_URL: 'https://storage.googleapis.com/media/',
      ADMIN_PASSWORD: 'a production password for this test',
      GOOGLE_CLOUD_PROJECT: 'p',
      GOOGLE_CLOUD_LOCATION: 'europe-west1',
      DISPATCH: 'dry-run',
      CALLBACK_AUTH: 'shared-secret',
      CALLBACK_SECRET: 'production-callback-secret-0123456789abcdef',
    });
    try {
      // The start-up log names the owner (for the operator); the public answer does not.
      expect(running.stderr()).toMatch(/"mode":"production"[^\n]*"owner":"[^"]+"/);
      const { port } = new URL(running.url);
      for (const host of [`127.0.0.1:${port}`, 'backend-abc123-ew.a.run.app', 'rebind.example']) {
        const ready = await getWithHost(`${running.url}/readyz`, host);
        expect(ready.status, ready.body).toBe(200);
        expect(ReadyAnswer.strict().parse(JSON.parse(ready.body)), host).toEqual({
          ready: true,
          phase: 'serving',
        });
      }
    } finally {
      expect(await stop(running)).toBe(0);
    }
  });

  it('refuses to start with a bad configuration and names every problem', async () => {
    await expect(
      startBackend({ DATA_DIR: dir, MODE: 'production', PORT: 'eighty' }),
    ).rejects.toThrow(/PORT/);
  });
});
