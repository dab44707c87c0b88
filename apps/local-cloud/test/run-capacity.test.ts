import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningLocalCloud } from '../src/server.ts';
import { api, PARENT, removeDir, startCloud, tempDir, waitFor } from './helpers.ts';
import { writeJobScript } from './job-script.ts';

let dir: string;
let script: string;
let cloud: RunningLocalCloud;

beforeAll(async () => {
  dir = tempDir();
  script = writeJobScript(dir);
  cloud = await startCloud(join(dir, 'data'), {
    maxRunningTasks: 1,
    jobCommands: [['node', script]],
  });
});
afterAll(async () => {
  await cloud.stop();
  removeDir(dir);
});

describe('the machine-wide task cap', () => {
  it('runs no more task processes at once than maxRunningTasks, whatever the parallelism', async () => {
    const out = join(dir, 'out');
    mkdirSync(out);
    const created = await api(cloud, 'POST', `/v2/${PARENT}/jobs?jobId=capped`, {
      template: {
        taskCount: 4,
        parallelism: 4,
        template: {
          maxRetries: 0,
          timeout: '60s',
          containers: [
            {
              image: 'local/test-job',
              command: ['node', script],
              env: [
                { name: 'MODE', value: 'parallel' },
                { name: 'OUT_DIR', value: out },
              ],
            },
          ],
        },
      },
    });
    expect(created.status, JSON.stringify(created)).toBe(200);
    const started = await api(cloud, 'POST', `/v2/${PARENT}/jobs/capped:run`, {});
    // biome-ignore lint/suspicious/noExplicitAny: Google JSON.
    const op: any = await waitFor(
      async () => {
        const r = await api(cloud, 'GET', `/v2/${started.body.name}`);
        return r.body.done ? r.body : undefined;
      },
      'the capped execution to finish',
      40_000,
    );
    expect(op.response).toMatchObject({ succeededCount: 4, parallelism: 4 });
    const seen = readFileSync(join(out, 'concurrency'), 'utf8').trim().split('\n').map(Number);
    expect(seen).toEqual([1, 1, 1, 1]);
  });
});
