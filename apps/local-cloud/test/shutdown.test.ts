/**
 * Graceful shutdown of local-cloud as a process (state kept across restarts): SIGTERM while Cloud
 * Tasks are queued (one in flight, the rest held back by the queue's
 * concurrency limit) and a Cloud Run job task is running. The process exits 0;
 * after a restart every task is delivered (at least once) and the job
 * execution completes. The job task is stopped with SIGINT, not SIGTERM.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { api, PARENT, removeDir, startTarget, type Target, tempDir, waitFor } from './helpers.ts';
import { writeJobScript } from './job-script.ts';
import { killMains, type MainProcess, startMain } from './main-process.ts';

const queue = `${PARENT}/queues/held`;
let dir: string;
let target: Target;

beforeEach(async () => {
  dir = tempDir();
  target = await startTarget();
});
afterEach(async () => {
  killMains();
  await target.close();
  removeDir(dir);
});

/** `signal` (SIGTERM by default), then the exit code (bounded: SIGKILL and fail after 20 s). */
async function terminate(
  running: MainProcess,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<number | null> {
  running.child.kill(signal);
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000).unref());
  const code = await Promise.race([running.exited, timeout]);
  if (code === 'timeout') {
    running.child.kill('SIGKILL');
    throw new Error(`did not exit within 20 s of ${signal}:\n${running.lines.join('\n')}`);
  }
  return code;
}

describe('local-cloud on SIGTERM', () => {
  it('keeps queued tasks and a running job execution across a restart and then finishes them', async () => {
    const data = join(dir, 'data');
    const out = join(dir, 'out');
    mkdirSync(out);
    const script = writeJobScript(dir);
    const commands = { LOCAL_CLOUD_JOB_COMMANDS: JSON.stringify([['node', script]]) };
    const first = await startMain(data, commands);
    await api(first, 'POST', `/v2/${PARENT}/queues`, {
      name: queue,
      rateLimits: { maxConcurrentDispatches: 1 },
    });
    let releaseHeld = () => {};
    target.respond = () =>
      new Promise<number>((r) => {
        releaseHeld = () => r(503);
      });
    const ids = ['t1', 't2', 't3', 't4'];
    for (const id of ids) {
      const created = await api(first, 'POST', `/v2/${queue}/tasks`, {
        task: { name: `${queue}/tasks/${id}`, httpRequest: { url: `${target.url}/${id}` } },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(200);
    }
    await api(first, 'POST', `/v2/${PARENT}/jobs?jobId=slow`, {
      template: {
        template: {
          maxRetries: 1,
          containers: [
            {
              command: ['node', script],
              env: [
                { name: 'MODE', value: 'wait-for-allow' },
                { name: 'OUT_DIR', value: out },
                { name: 'RECORD_SIGNALS', value: '1' },
              ],
            },
          ],
        },
      },
    });
    const run = await api(first, 'POST', `/v2/${PARENT}/jobs/slow:run`, {});
    expect(run.status, JSON.stringify(run.body)).toBe(200);
    await waitFor(() => (existsSync(join(out, 't0-a0.pid')) ? true : undefined), 'the job task');
    await waitFor(() => target.received[0], 'the first task delivery');

    expect(await terminate(first)).toBe(0);
    expect(first.lines.filter((l) => l.includes('"severity":"ERROR"'))).toEqual([]);
    expect(target.received).toHaveLength(1);
    // A shutdown stops the task with SIGINT (Cloud Run's timeout and cancel send SIGTERM), so
    // the processor logs it as the requested stop it is; the attempt runs again after the restart.
    expect(readFileSync(join(out, 'signals'), 'utf8')).toBe('t0-a0 SIGINT\n');

    target.respond = () => 200;
    releaseHeld();
    const second = await startMain(data, commands);
    writeFileSync(join(out, 'allow'), '');
    const op = await waitFor(async () => {
      const res = await api(second, 'GET', `/v2/${run.body.name}`);
      return res.body.done ? res.body : undefined;
    }, 'the job execution to finish');
    expect(op.response, JSON.stringify(op)).toMatchObject({ succeededCount: 1 });
    await waitFor(
      () => (ids.every((id) => target.received.some((r) => r.url === `/${id}`)) ? true : undefined),
      'every task to be delivered',
    );
    await waitFor(async () => {
      const res = await api(second, 'GET', `/v2/${queue}/tasks`);
      return (res.body.tasks ?? []).length === 0 ? true : undefined;
    }, 'the queue to empty');
    // A closed terminal (SIGHUP) stops it the same way, not by Node's default (killed, no exit code).
    expect(await terminate(second, 'SIGHUP')).toBe(0);
    expect(second.lines.some((l) => l.includes('"signal":"SIGHUP"'))).toBe(true);
  });
});
