/**
 * local-cloud as a real process (src/main.ts): configuration from the
 * environment, graceful SIGTERM, and recovery after a crash (SIGKILL) that
 * left a job task process running.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { coerceError } from '@slideshow/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostEnvironment } from '../src/config.ts';
import { api, PARENT, removeDir, startCloud, tempDir, waitFor } from './helpers.ts';
import { createScriptJob, pidOf, startsIn, writeJobScript } from './job-script.ts';

const MAIN = resolve(import.meta.dirname, '../src/main.ts');
let dir: string;
const children: ChildProcess[] = [];
/** Task processes orphaned on purpose; killed after each test whatever happened. */
const orphans: number[] = [];

beforeEach(() => {
  dir = tempDir();
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const pid of orphans.splice(0)) {
    if (!isAlive(pid)) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch (error) {
      // It exited between the check and the kill.
      expect(coerceError(error).message).toContain('ESRCH');
    }
  }
  removeDir(dir);
});

/** Starts main.ts and resolves with its URL and token once it logs that it is ready. */
async function startMain(
  dataDir: string,
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; url: string; oauthToken: string; lines: string[] }> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: hostEnvironment().PATH,
      LOCAL_CLOUD_PORT: '0',
      LOCAL_CLOUD_DATA_DIR: dataDir,
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  const lines: string[] = [];
  const url = await new Promise<string>((resolveUrl, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      lines.push(line);
      const entry = JSON.parse(line) as { message: string; url?: string };
      if (entry.message === 'local-cloud ready' && entry.url) resolveUrl(entry.url);
    });
    child.once('exit', (code) =>
      reject(new Error(`main.ts exited with ${code}: ${lines.join('\n')}`)),
    );
  });
  const oauthToken = readFileSync(join(dataDir, 'local-cloud.token'), 'utf8');
  return { child, url, oauthToken, lines };
}

function isAlive(pid: number): boolean {
  const status = `/proc/${pid}/status`;
  if (!existsSync(status)) return false;
  // A killed orphan may linger as a zombie until init reaps it.
  return !/^State:\s+Z/m.test(readFileSync(status, 'utf8'));
}

describe('local-cloud as a process', () => {
  it('stops on SIGTERM with exit code 0 and keeps its state on disk', async () => {
    const data = join(dir, 'data');
    const { child, url, oauthToken, lines } = await startMain(data);
    const queue = `${PARENT}/queues/kept`;
    await api({ url, oauthToken }, 'POST', `/v2/${PARENT}/queues`, { name: queue });
    // 'close' (not 'exit') so every stderr line has been read.
    const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(lines.some((l) => l.includes('"severity":"INFO"') && l.includes('shutting down'))).toBe(
      true,
    );
    const again = await startCloud(data);
    try {
      expect((await api(again, 'GET', `/v2/${queue}`)).status).toBe(200);
    } finally {
      await again.stop();
    }
  });

  it('kills a job task left running by a crash and runs that attempt again', async () => {
    const data = join(dir, 'data');
    const out = join(dir, 'out');
    mkdirSync(out);
    const script = writeJobScript(dir);
    const commands = JSON.stringify([['node', script]]);
    const { child, url, oauthToken } = await startMain(data, {
      LOCAL_CLOUD_JOB_COMMANDS: commands,
    });
    await api({ url, oauthToken }, 'POST', `/v2/${PARENT}/jobs?jobId=crashy`, {
      template: {
        template: {
          maxRetries: 0,
          containers: [
            {
              command: ['node', script],
              env: [
                { name: 'MODE', value: 'wait-for-allow' },
                { name: 'OUT_DIR', value: out },
              ],
            },
          ],
        },
      },
    });
    const started = await api({ url, oauthToken }, 'POST', `/v2/${PARENT}/jobs/crashy:run`, {});
    const orphan = await waitFor(() => pidOf(out), 'the task process');
    orphans.push(orphan);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    expect(isAlive(orphan)).toBe(true);
    const again = await startCloud(data, { jobCommands: [['node', script]] });
    try {
      await waitFor(() => (isAlive(orphan) ? undefined : true), 'the leftover to be killed');
      writeFileSync(join(out, 'allow'), '');
      const op = await waitFor(async () => {
        const res = await api(again, 'GET', `/v2/${started.body.name}`);
        return res.body.done ? res.body : undefined;
      }, 'the re-run');
      expect(op.response).toMatchObject({ succeededCount: 1 });
      expect(startsIn(out)).toEqual(['t0-a0', 't0-a0']);
    } finally {
      await again.stop();
    }
  });

  it('ends cancelled, without running it again, an execution cancelled before a crash', async () => {
    const data = join(dir, 'data');
    const script = writeJobScript(dir);
    const { child, url, oauthToken } = await startMain(data, {
      LOCAL_CLOUD_JOB_COMMANDS: JSON.stringify([['node', script]]),
    });
    const cloud = { url, oauthToken };
    // The task ignores the cancel's SIGTERM, so it is still running at the crash.
    const out = await createScriptJob(cloud, {
      project: 'p1',
      region: 'us-central1',
      id: 'cancelled-crash',
      dir,
      script,
      env: { MODE: 'ignore-term' },
      maxRetries: 1,
    });
    const started = await api(cloud, 'POST', `/v2/${PARENT}/jobs/cancelled-crash:run`, {});
    const orphan = await waitFor(() => pidOf(out), 'the task process');
    orphans.push(orphan);
    const cancelled = await api(cloud, 'POST', `/v2/${started.body.metadata.name}:cancel`, {});
    expect(cancelled.status, JSON.stringify(cancelled)).toBe(200);
    await waitFor(() => (existsSync(join(out, 'got-sigterm')) ? true : undefined), 'SIGTERM');
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    const again = await startCloud(data, { jobCommands: [['node', script]] });
    try {
      await waitFor(() => (isAlive(orphan) ? undefined : true), 'the leftover to be killed');
      const op = await waitFor(async () => {
        const res = await api(again, 'GET', `/v2/${started.body.name}`);
        return res.body.done ? res.body : undefined;
      }, 'the execution to be over');
      expect(op.error.message).toContain('cancelled');
      expect(op.metadata).toMatchObject({ cancelledCount: 1, succeededCount: 0, failedCount: 0 });
      expect(startsIn(out)).toEqual(['t0-a0']);
    } finally {
      await again.stop();
    }
  });
});
