import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db.ts';
import { MAX_UNFINISHED_RUNS } from '../src/workflows-api/executions.ts';
import {
  api,
  CALL_URL_WORKFLOW,
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
      sourceContents: CALL_URL_WORKFLOW,
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

  it('sets aside, without running it, an execution whose last runs each ended with the process', async () => {
    const data = join(dir, 'data');
    const first = await startCloud(data);
    await api(first, 'POST', `/v1/${PARENT}/workflows?workflowId=calls`, {
      sourceContents: CALL_URL_WORKFLOW,
    });
    target.respond = () => new Promise(() => {});
    const start = (path: string) =>
      api(first, 'POST', `/v1/${PARENT}/workflows/calls/executions`, {
        argument: JSON.stringify({ url: `${target.url}${path}` }),
      });
    const doomed = await start('/doomed');
    const once = await start('/once');
    await waitFor(() => (target.received.length === 2 ? true : undefined), 'both calls');
    // A clean stop leaves both ACTIVE, and no run recorded as cut short.
    await first.stop();
    const db = openDatabase(join(data, 'local-cloud.db'));
    try {
      expect(db.prepare('SELECT COUNT(*) AS n FROM execution_runs').get()).toEqual({ n: 0 });
      // As the database is after the process died in every run of one, and in one run of the other.
      const mark = db.prepare('INSERT INTO execution_runs (name, unfinished) VALUES (?, ?)');
      mark.run(doomed.body.name, MAX_UNFINISHED_RUNS);
      mark.run(once.body.name, MAX_UNFINISHED_RUNS - 1);
    } finally {
      db.close();
    }
    target.respond = () => 200;
    const second = await startCloud(data);
    try {
      const ended = async (name: string) =>
        waitFor(async () => {
          const e = await api(second, 'GET', `/v1/${name}`);
          return e.body.state === 'ACTIVE' ? undefined : e.body;
        }, `the end of ${name}`);
      const setAside = await ended(doomed.body.name);
      expect(setAside.state, JSON.stringify(setAside)).toBe('FAILED');
      expect(JSON.parse(setAside.error.payload)).toEqual({
        message: expect.stringContaining('it was set aside instead of being run again'),
        tags: ['SystemError'],
      });
      expect((await ended(once.body.name)).state).toBe('SUCCEEDED');
      expect(target.received.map((r) => r.url).sort()).toEqual(['/doomed', '/once', '/once']);
    } finally {
      await second.stop();
    }
  });
});
