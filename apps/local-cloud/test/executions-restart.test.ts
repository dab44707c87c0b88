import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  api,
  PARENT,
  removeDir,
  startCloud,
  startTarget,
  type Target,
  tempDir,
  waitFor,
} from './helpers.ts';
import { startsIn, writeJobScript } from './job-script.ts';

let dir: string;
let target: Target;

beforeEach(async () => {
  dir = tempDir();
  target = await startTarget();
});
afterEach(async () => {
  await target.close();
  removeDir(dir);
});

describe('Workflow executions across a restart', () => {
  it('re-runs an execution that was ACTIVE when the process stopped', async () => {
    const first = await startCloud(dir);
    const name = `${PARENT}/workflows/durable`;
    await api(first, 'POST', `/v1/${PARENT}/workflows?workflowId=durable`, {
      sourceContents: `
main:
  params: [args]
  steps:
    - call:
        call: http.get
        args:
          url: \${args.url}
        result: r
    - done:
        return: \${r.code}
`,
    });
    target.respond = () => new Promise(() => {});
    const created = await api(first, 'POST', `/v1/${name}/executions`, {
      argument: JSON.stringify({ url: `${target.url}/slow` }),
    });
    await waitFor(() => target.received[0], 'the first call');
    await first.stop();
    target.respond = () => 200;
    const second = await startCloud(dir);
    try {
      const done = await waitFor(async () => {
        const e = await api(second, 'GET', `/v1/${created.body.name}`);
        return e.body.state === 'ACTIVE' ? undefined : e.body;
      }, 'the re-run');
      expect(done.state).toBe('SUCCEEDED');
      expect(JSON.parse(done.result)).toBe(200);
      expect(target.received).toHaveLength(2);
    } finally {
      await second.stop();
    }
  });

  it('joins the job run its first attempt started instead of starting a second one', async () => {
    const out = join(dir, 'out');
    mkdirSync(out);
    const script = writeJobScript(dir);
    const data = join(dir, 'data');
    const first = await startCloud(data, { jobCommands: [['node', script]] });
    await api(first, 'POST', `/v2/${PARENT}/jobs?jobId=slow`, {
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
    await api(first, 'POST', `/v1/${PARENT}/workflows?workflowId=runner`, {
      sourceContents: `
main:
  steps:
    - run:
        call: googleapis.run.v2.projects.locations.jobs.run
        args:
          name: ${PARENT}/jobs/slow
        result: execution
    - done:
        return: \${execution.succeededCount}
`,
    });
    const created = await api(first, 'POST', `/v1/${PARENT}/workflows/runner/executions`, {});
    await waitFor(() => (startsIn(out).length > 0 ? true : undefined), 'the job task');
    await first.stop();
    writeFileSync(join(out, 'allow'), '');
    const second = await startCloud(data, { jobCommands: [['node', script]] });
    try {
      const done = await waitFor(async () => {
        const e = await api(second, 'GET', `/v1/${created.body.name}`);
        return e.body.state === 'ACTIVE' ? undefined : e.body;
      }, 'the re-run');
      expect(done.state, JSON.stringify(done)).toBe('SUCCEEDED');
      expect(JSON.parse(done.result)).toBe(1);
      const runs = await api(second, 'GET', `/v2/${PARENT}/jobs/slow/executions`);
      expect(runs.body.executions).toHaveLength(1);
      expect(startsIn(out)).toEqual(['t0-a0', 't0-a0']);
    } finally {
      await second.stop();
    }
  });
});
