/**
 * `npm start`'s program (tools/start-local.ts, which `npm start` runs after the
 * build) as a process, the way a user meets it: it never takes over a stack it
 * did not start (a port in use, a data folder in use), it honours
 * ADMIN_PASSWORD, it prints where to look before the samples run, and on a
 * new data folder it runs its samples, a HEIC among them, to the end through
 * the processor bundle; Ctrl-C stops everything it started; a second run on
 * the same folder uploads no samples, so an image the admin deleted stays
 * deleted. Samples the backend refuses are named with their code, only the
 * accepted ones are followed, and the next start sends only the refused ones
 * (before, every answer entry counted as accepted, the refused ones were
 * polled as `undefined` for 10 minutes and the folder was marked done). A
 * regeneration run left unfinished is counted in the next start's
 * "Unfinished from the last run" line (before, only image statuses were).
 */

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@slideshow/tools/shared-dir';
import { freePort } from '@slideshow/tools/stack-children';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { linesAt, type StartLocal, startLocal } from './start-local-support.ts';

/** An HTTP server standing for another stack on a port: it records what reaches it. */
async function otherStack(): Promise<{ server: Server; port: number; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, requests };
}

describe('npm start next to another stack', () => {
  let other: Awaited<ReturnType<typeof otherStack>>;
  let dataDir: string;

  beforeAll(async () => {
    other = await otherStack();
  });
  afterAll(async () => {
    await new Promise((r) => other?.server.close(r));
  });
  afterEach(() => {
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('stops with a message naming the port and PORT when the backend port is taken, and sends nothing there', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'start-local-'));
    const run = startLocal({
      PORT: String(other.port),
      LOCAL_CLOUD_PORT: String(await freePort()),
      DATA_DIR: dataDir,
    });
    expect(await run.exited(), run.output()).toBe(1);
    expect(run.output()).toContain(`port ${other.port} (PORT, the backend) is already in use`);
    expect(run.output()).toContain(`PORT=${other.port + 1} npm start`);
    expect(other.requests).toEqual([]);
  });

  it('stops with a message naming LOCAL_CLOUD_PORT when the local-cloud port is taken', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'start-local-'));
    const run = startLocal({
      PORT: String(await freePort()),
      LOCAL_CLOUD_PORT: String(other.port),
      DATA_DIR: dataDir,
    });
    expect(await run.exited(), run.output()).toBe(1);
    expect(run.output()).toContain(
      `port ${other.port} (LOCAL_CLOUD_PORT, the local-cloud) is already in use`,
    );
    expect(other.requests).toEqual([]);
    // Nothing was started, so nothing holds the data folder.
    expect(existsSync(join(dataDir, 'npm-start.pid'))).toBe(false);
  });

  it('refuses a port that is not a number instead of picking another one', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'start-local-'));
    const run = startLocal({ PORT: 'eighty', LOCAL_CLOUD_PORT: '0', DATA_DIR: dataDir });
    expect(await run.exited(), run.output()).toBe(1);
    expect(run.output()).toContain('PORT must be a port number from 0 to 65535 but is "eighty"');
  });
});

describe('npm start on its own ports', () => {
  const password = 'a password the user chose';
  let dataDir: string;
  let run: StartLocal;
  let backendUrl: string;

  beforeAll(async () => {
    // A folder named with a space and a "#", as a user's may be: a raw "#" in a file:// URL
    // once cut the store's and the lease's paths short, and every upload failed.
    dataDir = mkdtempSync(join(tmpdir(), 'start local #1-'));
    const backendPort = await freePort();
    backendUrl = `http://127.0.0.1:${backendPort}`;
    run = startLocal({
      PORT: String(backendPort),
      LOCAL_CLOUD_PORT: String(await freePort()),
      DATA_DIR: dataDir,
      ADMIN_PASSWORD: password,
    });
    // Seven samples through the whole pipeline on a loaded 2-core machine.
    await run.waitFor('Samples done:', 600_000);
  }, 620_000);
  /** The later runs of the restart test: stopped here too, before the folder goes, if it failed. */
  const later: StartLocal[] = [];
  afterAll(async () => {
    for (const r of [run, ...later]) {
      if (r?.child.exitCode === null) {
        r.child.kill('SIGINT');
        await r.exited(60_000);
      }
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('processes every sample, the HEIC included, through the processor bundle', () => {
    const db = new Database(join(dataDir, 'slideshow.db'), { readonly: true });
    try {
      const rows = db.prepare('SELECT original_name, status, format FROM images').all() as {
        original_name: string;
        status: string;
        format: string | null;
      }[];
      expect(rows.length, run.output()).toBe(7);
      expect(
        rows.filter((r) => r.status !== 'processed'),
        run.output(),
      ).toEqual([]);
      expect(rows.find((r) => r.original_name.endsWith('.heic'))?.format).toBe('heic');
    } finally {
      db.close();
    }
    expect(run.output()).toContain('Samples done: 7 processed.');
    // Where to look is printed before the samples are uploaded, not after they are done.
    expect(run.output().indexOf('Press Ctrl-C to stop.')).toBeLessThan(
      run.output().indexOf('Uploading sample images'),
    );
  });

  it('prints the failed-tasks query as a command a shell runs as it is, the odd folder quoted', () => {
    const line = run.output().match(/Failed tasks +(sqlite3 .*)$/m)?.[1];
    expect(line).toContain(`'${join(dataDir, 'slideshow.db')}'`);
    // Without the sqlite3 CLI, the ops tests' stand-in (node:sqlite) runs the same line.
    const hasSqlite = spawnSync('sqlite3', ['-version'], { stdio: 'ignore' }).status === 0;
    const standIn = join(repoRoot, 'scripts/test/fixtures');
    const env = hasSqlite
      ? process.env
      : { ...process.env, PATH: `${standIn}:${process.env.PATH}` };
    const result = spawnSync('bash', ['-c', line ?? 'false'], { encoding: 'utf8', env });
    expect(result.status, result.stderr).toBe(0);
  });

  it('logs the admin in with ADMIN_PASSWORD and never prints it', async () => {
    const login = (pw: string) =>
      fetch(`${backendUrl}/api/admin/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ password: pw }),
      });
    const accepted = await login(password);
    expect(accepted.status, await accepted.text()).toBeLessThan(300);
    expect((await login('not the password')).status).toBe(401);
    expect(run.output()).toContain('(password: the ADMIN_PASSWORD you set)');
    expect(run.output()).not.toContain(password);
  });

  it('refuses a second npm start on the same DATA_DIR, naming it', async () => {
    const second = startLocal({
      PORT: String(await freePort()),
      LOCAL_CLOUD_PORT: String(await freePort()),
      DATA_DIR: dataDir,
    });
    expect(await second.exited(), second.output()).toBe(1);
    expect(second.output()).toContain(`DATA_DIR ${dataDir} is in use by another npm start`);
    expect(readFileSync(join(dataDir, 'npm-start.pid'), 'utf8').trim()).toBe(String(run.child.pid));
  });

  it('stops everything it started on Ctrl-C, logging no ERROR', async () => {
    const printed = run.output().length;
    run.child.kill('SIGINT');
    expect(await run.exited(60_000), run.output()).toBe(0);
    expect(run.output()).toContain('Stopped.');
    // An idle stack's requested stop is no error (with jobs in flight: start-local-ctrl-c.test.ts).
    expect(linesAt(run.output().slice(printed), 'ERROR')).toEqual([]);
    expect(existsSync(join(dataDir, 'npm-start.pid'))).toBe(false);
    const refused = await fetch(`${backendUrl}/healthz`).then(
      () => 'answered',
      () => 'refused',
    );
    expect(refused).toBe('refused');
  });

  it('uploads no samples on a later run in the same folder: a deleted sample stays deleted', async () => {
    const again = async () => {
      const next = startLocal({
        PORT: String(new URL(backendUrl).port),
        LOCAL_CLOUD_PORT: String(await freePort()),
        DATA_DIR: dataDir,
        ADMIN_PASSWORD: password,
      });
      later.push(next);
      await next.waitFor('Samples: none uploaded', 120_000);
      return next;
    };
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const second = await again();
    const images = () => {
      const db = new Database(join(dataDir, 'slideshow.db'), { readonly: true });
      try {
        return db.prepare('SELECT id, original_name FROM images ORDER BY id').all() as {
          id: string;
          original_name: string;
        }[];
      } finally {
        db.close();
      }
    };
    const deleted = images()[0];
    if (!deleted) throw new Error('no sample image to delete');
    const response = await fetch(`${backendUrl}/api/admin/images/${deleted.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status, await response.text()).toBeLessThan(300);
    second.child.kill('SIGINT');
    expect(await second.exited(60_000), second.output()).toBe(0);

    // A pid file left by a launcher killed hard, whose number another running program has
    // now (after a reboot; here this test's own process): replaced, not refused.
    writeFileSync(join(dataDir, 'npm-start.pid'), `${process.pid}\n`);
    const third = await again();
    try {
      expect(readFileSync(join(dataDir, 'npm-start.pid'), 'utf8').trim()).toBe(
        String(third.child.pid),
      );
      expect(third.output()).not.toContain('Uploading sample images');
      expect(images().map((i) => i.original_name)).not.toContain(deleted.original_name);
      expect(images()).toHaveLength(6);
    } finally {
      third.child.kill('SIGINT');
      expect(await third.exited(60_000), third.output()).toBe(0);
    }
  }, 400_000);
});

describe('npm start when the backend refuses some samples', () => {
  let dataDir: string;
  let env: Record<string, string>;
  const runs: StartLocal[] = [];
  afterAll(async () => {
    for (const r of runs) {
      if (r.child.exitCode === null) {
        r.child.kill('SIGINT');
        await r.exited(60_000);
      }
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('names each refused sample with its code, follows the accepted ones to the end and keeps running; the next start sends only the refused ones', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'start-local-refused-'));
    const backendPort = await freePort();
    env = {
      PORT: String(backendPort),
      LOCAL_CLOUD_PORT: String(await freePort()),
      DATA_DIR: dataDir,
    };
    // At most 1 MB a file: the third sample, a 6.5 MB PNG, is refused, and the backend reads no
    // further (a refusal for size ends the request), so the two before it alone are accepted.
    const first = startLocal({ ...env, MAX_UPLOAD_BYTES: '1000000' });
    runs.push(first);
    await first.waitFor(' accepted', 300_000);
    const refused = (name: string) =>
      `  ${name}: refused, PAYLOAD_TOO_LARGE: file is larger than the limit of 1000000 bytes\n`;
    expect(first.output()).toContain(refused('sample-3-alpha.png'));
    for (const name of ['sample-4.webp', 'sample-5.jpg', 'sample-animated.gif', 'sample-heic.heic'])
      expect(first.output()).toContain(
        `  ${name}: not read (the backend stopped reading the upload at an earlier failure)\n`,
      );
    expect(first.output()).toContain(
      '  2 accepted, 5 not: the next npm start in this folder sends those again\n',
    );
    await first.waitFor('Samples done:', 600_000);
    expect(first.output()).toContain('Samples done: 2 processed.');
    // Not marked done, and still serving.
    expect(existsSync(join(dataDir, 'samples-uploaded'))).toBe(false);
    const health = await fetch(`http://127.0.0.1:${backendPort}/healthz`);
    expect(health.status, await health.text()).toBe(200);
    first.child.kill('SIGINT');
    expect(await first.exited(60_000), first.output()).toBe(0);

    const second = startLocal(env);
    runs.push(second);
    await second.waitFor('Samples done:', 600_000);
    expect(second.output()).toContain(
      'Uploading the 5 sample images an earlier run could not (generated here)',
    );
    expect(second.output()).toContain('  5 accepted\n');
    expect(second.output()).toContain('Samples done: 5 processed.');
    expect(existsSync(join(dataDir, 'samples-uploaded'))).toBe(true);
    const db = new Database(join(dataDir, 'slideshow.db'), { readonly: true });
    try {
      const rows = db.prepare('SELECT original_name, status FROM images').all() as {
        original_name: string;
        status: string;
      }[];
      expect(rows.map((r) => r.status)).toEqual(Array(7).fill('processed'));
    } finally {
      db.close();
    }
    second.child.kill('SIGINT');
    expect(await second.exited(60_000), second.output()).toBe(0);
  }, 1_200_000);

  it('counts an interrupted regeneration run in what the last run left unfinished', async () => {
    // A regeneration to another preset whose worker never passes (once an hour): its items wait.
    const regenEnv = { ...env, IMAGE_PRESET: 'web-v1' };
    const third = startLocal({ ...regenEnv, REGEN_INTERVAL_MS: '3600000' });
    runs.push(third);
    await third.waitFor('Samples: none uploaded', 180_000);
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const started = await fetch(`http://127.0.0.1:${env.PORT}/api/admin/regenerate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    const answer = await started.text();
    expect(started.status, answer).toBe(202);
    const runId = (JSON.parse(answer) as { run: { id: number } }).run.id;
    third.child.kill('SIGINT');
    expect(await third.exited(60_000), third.output()).toBe(0);

    const fourth = startLocal(regenEnv);
    runs.push(fourth);
    await fourth.waitFor('Samples: none uploaded', 180_000);
    await fourth.waitFor('Unfinished from the last run: ', 30_000);
    expect(fourth.output()).toContain(
      `Unfinished from the last run: regeneration run ${runId} to web-v1 (7 of 7 images left); finishing them now.`,
    );
    fourth.child.kill('SIGINT');
    expect(await fourth.exited(60_000), fourth.output()).toBe(0);
  }, 600_000);
});
