/**
 * Graceful shutdown (nothing accepted is lost): SIGTERM to the real backend process, with a
 * loopback fake Cloud Tasks server as the dispatcher's target, while an upload
 * is in flight. The upload completes with 202, the process exits 0 with no
 * ERROR log line, and nothing is lost: every accepted image either has its
 * task or still has its outbox row, and after a restart every image has
 * exactly one task.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type FakeCloudTasksServer,
  startFakeCloudTasksServer,
} from '@slideshow/dispatch/testing/fake-cloud-tasks';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BackendProcess,
  sleep,
  startBackendProcess,
  streamRequest,
} from './backend-process.ts';
import { makePng } from './helpers.ts';
import { BOUNDARY, filePartHead, MULTIPART_TYPE } from './multipart-bodies.ts';

const TOKEN = 'shutdown-admin-token-0123456789abcdef';

/** The image id of each task the fake holds (from the Executions API argument in its body). */
function dispatchedIds(fake: FakeCloudTasksServer): string[] {
  return [...fake.tasks.values()].map((task) => {
    const http = task.httpRequest as { body: string };
    const body = JSON.parse(Buffer.from(http.body, 'base64').toString('utf8')) as {
      argument: string;
    };
    return (JSON.parse(body.argument) as { file_id: string }).file_id;
  });
}

/** Waits (bounded) for `condition`; polling, never a timing assertion. */
async function until(condition: () => boolean, what: string, limitMs = 15_000) {
  for (let waited = 0; !condition(); waited += 50) {
    if (waited > limitMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function errorLines(logs: string): string[] {
  return logs.split('\n').filter((l) => l.includes('"severity":"ERROR"'));
}

describe('the backend process on SIGTERM', () => {
  let dir: string;
  let fake: FakeCloudTasksServer;
  let backend: BackendProcess | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'backend-shutdown-'));
    fake = await startFakeCloudTasksServer();
  });
  afterAll(async () => {
    if (backend && backend.child.exitCode === null) {
      backend.child.kill('SIGKILL');
      await backend.exited();
    }
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const env = () => ({
    DATA_DIR: dir,
    ADMIN_TOKENS: TOKEN,
    CLOUD_TASKS_ENDPOINT: fake.url,
    REAPER_INTERVAL_MS: '1000',
  });
  const upload = async (url: string, seed: number) => {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(makePng(8, 8, seed))]), `${seed}.png`);
    const response = await fetch(`${url}/api/admin/upload`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}` },
      body: form,
    });
    const text = await response.text();
    expect(response.status, text).toBe(202);
    return (JSON.parse(text) as { images: { id: string }[] }).images[0]!.id;
  };

  it('finishes an in-flight upload, stops cleanly with exit code 0, and loses nothing across a restart', async () => {
    const first = await startBackendProcess(env());
    backend = first;
    const accepted = [await upload(first.url, 1), await upload(first.url, 2)];

    // An upload whose body is half sent when SIGTERM arrives.
    let release = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const bytes = Buffer.concat([makePng(8, 8, 3), Buffer.alloc(600 * 1024, 5)]);
    async function* slowBody() {
      yield filePartHead('in-flight.png', 'image/png');
      yield bytes.subarray(0, 400 * 1024);
      await gate;
      yield bytes.subarray(400 * 1024);
      yield Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
    }
    const inFlight = streamRequest(
      `${first.url}/api/admin/upload`,
      { Authorization: `Bearer ${TOKEN}`, 'Content-Type': MULTIPART_TYPE },
      slowBody(),
    );
    // The server is writing the original once a temp file exists in the store.
    const tmp = join(dir, 'storage', '.objectstore', 'tmp');
    await until(
      () => existsSync(tmp) && readdirSync(tmp).length > 0,
      'the upload to reach storage',
    );

    first.child.kill('SIGTERM');
    await until(() => first.logs().includes('"shutting down"'), 'the shutdown to begin');
    // A new connection is no longer accepted while the in-flight request finishes.
    await expect(fetch(`${first.url}/healthz`)).rejects.toThrow();
    release();
    const response = await inFlight;
    expect(response.status, response.body).toBe(202);
    const inFlightId = (JSON.parse(response.body) as { images: { id: string }[] }).images[0]!.id;
    accepted.push(inFlightId);

    expect(await first.exited(15_000)).toBe(0);
    expect(errorLines(first.logs())).toEqual([]);
    expect(first.logs()).toContain('"stopped"');

    // Nothing lost: each accepted image has its task or its outbox row.
    const db = new Database(join(dir, 'slideshow.db'), { readonly: true });
    const pending = db
      .prepare<[], { image_id: string }>('SELECT image_id FROM outbox')
      .all()
      .map((r) => r.image_id);
    const images = db.prepare<[], { id: string }>('SELECT id FROM images').all();
    db.close();
    expect(images.map((r) => r.id).sort()).toEqual([...accepted].sort());
    expect([...dispatchedIds(fake), ...pending].sort()).toEqual([...accepted].sort());

    const second = await startBackendProcess(env());
    backend = second;
    await until(() => dispatchedIds(fake).length === accepted.length, 'every task to exist');
    expect(dispatchedIds(fake).sort()).toEqual([...accepted].sort());
    const status = (await (await fetch(`${second.url}/status`)).json()) as {
      counts: Record<string, number>;
      outbox: { pending: number };
    };
    expect(status.outbox.pending).toBe(0);
    expect(status.counts.queued).toBe(accepted.length);
    second.child.kill('SIGTERM');
    expect(await second.exited(15_000)).toBe(0);
    expect(errorLines(second.logs())).toEqual([]);
  });

  it('stops the same way on SIGHUP (a closed terminal): exit 0, the lease released for the next start', async () => {
    const first = await startBackendProcess(env());
    backend = first;
    first.child.kill('SIGHUP');
    // Node's default for SIGHUP is to end the process at once (exit by signal, code null).
    expect(await first.exited(15_000)).toBe(0);
    expect(first.logs()).toContain('"signal":"SIGHUP"');
    expect(errorLines(first.logs())).toEqual([]);

    const second = await startBackendProcess(env());
    backend = second;
    const db = new Database(join(dir, 'slideshow.db'), { readonly: true });
    const newest = db
      .prepare<[], { acquired: string }>(
        'SELECT acquired FROM writer_epochs ORDER BY epoch DESC LIMIT 1',
      )
      .get();
    db.close();
    // 'expired' would mean the first process died holding it (the next start waits out its TTL).
    expect(newest?.acquired).toBe('released');
    second.child.kill('SIGTERM');
    expect(await second.exited(15_000)).toBe(0);
  });
});
