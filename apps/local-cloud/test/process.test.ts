/**
 * local-cloud as a real process (src/main.ts): configuration from the
 * environment, graceful SIGTERM, and recovery after a crash (SIGKILL) that
 * left a job task process running.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coerceError } from '@slideshow/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  api,
  CALL_URL_WORKFLOW,
  PARENT,
  removeDir,
  startCloud,
  startTarget,
  tempDir,
  waitFor,
} from './helpers.ts';
import { createScriptJob, pidOf, startsIn, writeJobScript } from './job-script.ts';
import { killMain, killMains, startMain } from './main-process.ts';

let dir: string;
/** Task processes orphaned on purpose; killed after each test whatever happened. */
const orphans: number[] = [];

beforeEach(() => {
  dir = tempDir();
});
afterEach(() => {
  killMains();
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
    const main = await startMain(data, { LOCAL_CLOUD_JOB_COMMANDS: commands });
    const { url, oauthToken } = main;
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
    await killMain(main);
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

  it('gives each task a stdin that ends when local-cloud is killed, and STOP_WHEN_STDIN_CLOSES=1', async () => {
    const data = join(dir, 'data');
    const script = writeJobScript(dir);
    const main = await startMain(data, {
      LOCAL_CLOUD_JOB_COMMANDS: JSON.stringify([['node', script]]),
    });
    const { url, oauthToken } = main;
    const out = await createScriptJob(main, {
      project: 'p1',
      region: 'us-central1',
      id: 'lifeline',
      dir,
      script,
      env: { MODE: 'stdin-lifeline' },
    });
    await api({ url, oauthToken }, 'POST', `/v2/${PARENT}/jobs/lifeline:run`, {});
    const task = await waitFor(() => pidOf(out), 'the task process');
    orphans.push(task);
    await killMain(main);
    // No signal reached the task (its own process group): only its stdin's end stops it.
    expect(
      await waitFor(
        () => (existsSync(join(out, 'stdin-ended')) ? true : undefined),
        'the task to see its stdin end',
      ),
    ).toBe(true);
    await waitFor(() => (isAlive(task) ? undefined : true), 'the task to exit');
  });

  it('ends cancelled, without running it again, an execution cancelled before a crash', async () => {
    const data = join(dir, 'data');
    const script = writeJobScript(dir);
    const main = await startMain(data, {
      LOCAL_CLOUD_JOB_COMMANDS: JSON.stringify([['node', script]]),
    });
    const cloud = { url: main.url, oauthToken: main.oauthToken };
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
    await killMain(main);
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

  it('sets aside a workflow execution that it died in twice, instead of running it at every start', async () => {
    const data = join(dir, 'data');
    const target = await startTarget();
    try {
      // Stands for any workflow that kills local-cloud: every run ends with the process.
      target.respond = () => new Promise(() => {});
      let main = await startMain(data);
      await api(main, 'POST', `/v1/${PARENT}/workflows?workflowId=deadly`, {
        sourceContents: CALL_URL_WORKFLOW,
      });
      const created = await api(main, 'POST', `/v1/${PARENT}/workflows/deadly/executions`, {
        argument: JSON.stringify({ url: `${target.url}/deadly` }),
      });
      await waitFor(() => target.received[0], 'the first run');
      await killMain(main);
      main = await startMain(data);
      await waitFor(() => target.received[1], 'the run after the first crash');
      await killMain(main);
      main = await startMain(data);
      const ended = await waitFor(async () => {
        const e = await api(main, 'GET', `/v1/${created.body.name}`);
        return e.body.state === 'ACTIVE' ? undefined : e.body;
      }, 'the execution to be set aside');
      expect(ended.state).toBe('FAILED');
      expect(ended.error.context).toContain('during each of the last 2 runs');
      expect(target.received).toHaveLength(2);
      const logged = main.lines.map((l) => JSON.parse(l) as { severity: string; message: string });
      expect(logged).toContainEqual(
        expect.objectContaining({
          severity: 'ERROR',
          message: 'set aside a workflow execution whose runs kept ending with local-cloud',
        }),
      );
    } finally {
      await target.close();
    }
  });
});
