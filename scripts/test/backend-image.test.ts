import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostPath } from './helpers/config.ts';
import { scriptsDir } from './helpers/gcloud-double.ts';

const repoRoot = join(scriptsDir, '..');
const run = promisify(execFile);

/** What apps/backend/Dockerfile copies into its build stage. */
const COPIED = [
  'package.json',
  'pnpm-lock.yaml',
  'pnpm-workspace.yaml',
  'tools',
  'packages',
  'apps/backend',
  'deploy/backend-install.sh',
];

/** A port the OS just handed out (the backend refuses PORT=0). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A local-mode backend's settings with its data in `data`, on a port of its own. */
async function localEnv(data: string): Promise<Record<string, string>> {
  return {
    MODE: 'local',
    HOST: '127.0.0.1',
    PORT: String(await freePort()),
    DATA_DIR: data,
    DATABASE_PATH: join(data, 'slideshow.db'),
    DISPATCH: 'dry-run',
    METADATA_SERVER_DETECTION: 'none',
  };
}

async function waitForHealth(url: string, child: ChildProcess): Promise<string> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`backend exited with ${child.exitCode}`);
    try {
      const response = await fetch(`${url}/healthz`);
      return await response.text();
    } catch (error) {
      if (i === 99) throw error;
      await sleep(100);
    }
  }
  throw new Error('unreachable');
}

describe('the backend image layout (deploy/backend-install.sh + deploy/backend-entrypoint.sh)', () => {
  let app: string;
  let bin: string;

  beforeAll(async () => {
    app = await mkdtemp(join(tmpdir(), 'ops-backend-image-'));
    for (const path of COPIED) {
      await mkdir(dirname(join(app, path)), { recursive: true });
      await cp(join(repoRoot, path), join(app, path), {
        recursive: true,
        filter: (src) => !/\/(node_modules|\.data|dist|\.turbo)(\/|$)/.test(src),
      });
    }
    // The same install the Dockerfile runs, offline from the local pnpm store;
    // flock because the store is shared with other installs on this machine.
    await run('flock', ['/tmp/pnpm.lock', 'bash', 'deploy/backend-install.sh', '--offline'], {
      cwd: app,
      timeout: 120_000,
    });
    bin = join(app, 'fake-bin');
    await mkdir(bin);
    // A stand-in for the litestream binary: records its argv, one line per call;
    // `replicate` runs until SIGTERM, as the real one does.
    await writeFile(
      join(bin, 'litestream'),
      '#!/usr/bin/env bash\nprintf "%s\\n" "$*" >>"$LITESTREAM_LOG"\n' +
        'if [[ "$1" == replicate ]]; then echo \'level=INFO msg="snapshot written"\'; trap "exit 0" TERM; while :; do sleep 0.1; done; fi\n',
    );
    await chmod(join(bin, 'litestream'), 0o755);
  });
  afterAll(async () => {
    await rm(app, { recursive: true, force: true });
  });

  it('installs production dependencies only and starts the backend from source without Litestream', async () => {
    // hono is a dependency of the backend, @types/better-sqlite3 a devDependency.
    await expect(
      stat(join(app, 'apps/backend/node_modules/hono/package.json')),
    ).resolves.toBeTruthy();
    await expect(
      stat(join(app, 'apps/backend/node_modules/@types/better-sqlite3')),
    ).rejects.toThrow('ENOENT');
    const data = join(app, 'data');
    const child = spawn(join(repoRoot, 'deploy/backend-entrypoint.sh'), [], {
      cwd: app,
      env: {
        PATH: hostPath,
        ...(await localEnv(data)),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let output = '';
      const url = await new Promise<string>((resolve, reject) => {
        const onData = (d: Buffer) => {
          output += d.toString();
          const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(output);
          if (m?.[1]) resolve(m[1]);
        };
        child.stdout?.on('data', onData);
        child.stderr?.on('data', onData);
        child.on('exit', (code) => reject(new Error(`backend exited with ${code}: ${output}`)));
      });
      expect(await waitForHealth(url, child)).toContain('ok');
      expect(output).toContain('LITESTREAM_BUCKET is not set: the database is not replicated');
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) =>
        child.exitCode !== null ? resolve(null) : child.on('exit', resolve),
      );
    }
  });

  it('has the backend take the lease, restore, then replicate with litestream, and stop it on SIGTERM', async () => {
    const log = join(app, 'litestream.log');
    const data = join(app, 'replicated');
    const config = join(repoRoot, 'deploy/litestream.yml');
    // The database bucket, as far as this start needs it: with no replica at the lease's
    // epochs, the backend lists the bucket's epoch paths (an empty JSON API listing here)
    // before it starts from an empty database.
    const listings: string[] = [];
    const bucket = createHttpServer((request, response) => {
      listings.push(request.url ?? '');
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ kind: 'storage#objects' }));
    });
    await new Promise<void>((resolve) => bucket.listen(0, '127.0.0.1', resolve));
    const bucketPort = (bucket.address() as AddressInfo).port;
    try {
      const child = spawn(join(repoRoot, 'deploy/backend-entrypoint.sh'), [], {
        cwd: app,
        env: {
          PATH: `${bin}:${hostPath}`,
          LITESTREAM_LOG: log,
          LITESTREAM_BUCKET: 'demo-images-db',
          LITESTREAM_CONFIG: config,
          GCS_API_ENDPOINT: `http://127.0.0.1:${bucketPort}`,
          // The lease is a file for this test.
          LEASE_URL: `file://${join(data, 'test.lease')}`,
          ...(await localEnv(data)),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
      await new Promise<void>((resolve, reject) => {
        const onData = (d: Buffer) => {
          output += d.toString();
          if (output.includes('"backend listening"')) resolve();
        };
        child.stdout?.on('data', onData);
        child.stderr?.on('data', onData);
        void exit.then((code) => reject(new Error(`backend exited with ${code}: ${output}`)));
      });
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
      expect(listings).toEqual([
        expect.stringMatching(
          /^\/storage\/v1\/b\/demo-images-db\/o\?prefix=slideshow\.db%2Fepochs%2F/,
        ),
      ]);
      const db = join(data, 'slideshow.db');
      expect((await readFile(log, 'utf8')).trim().split('\n')).toEqual([
        `restore -config ${config} -if-replica-exists -o ${join(data, '.slideshow.db.restoring')} ${db}`,
        `replicate -config ${config}`,
      ]);
      expect(output).toContain('"database lease released"');
    } finally {
      await new Promise((resolve) => bucket.close(resolve));
    }
  });
});
