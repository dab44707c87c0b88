/**
 * A holder of local-cloud's token cannot exhaust its memory with a workflow
 * (docs/security.md, "Local stack", defence 6): the probe that once took the
 * heap to 4 GB in 35 s — a list or a string doubled at every step — ends
 * FAILED with ResourceLimitError inside a process given a 160 MB heap, and
 * local-cloud keeps serving; so does a parallel `for` over a range of 10^12
 * (its iterations were once all made before the first one ran).
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DOUBLING_WORKFLOWS } from '../src/workflows/test-support.ts';
import { api, PARENT, removeDir, tempDir, waitFor } from './helpers.ts';
import { killMains, type MainProcess, startMain } from './main-process.ts';

let dir: string;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => {
  killMains();
  removeDir(dir);
});

const BOMBS = {
  'probe-listbomb': DOUBLING_WORKFLOWS.list,
  'probe-stringbomb': DOUBLING_WORKFLOWS.string,
};

const PARALLEL_RANGE = `
main:
  steps:
    - p:
        parallel:
          for:
            value: i
            range: [1, 1000000000000]
            steps:
              - x:
                  assign:
                    - y: \${i}
`;

async function runToEnd(main: MainProcess, id: string, source: string) {
  const deployed = await api(main, 'POST', `/v1/${PARENT}/workflows?workflowId=${id}`, {
    sourceContents: source,
  });
  expect(deployed.status, JSON.stringify(deployed)).toBe(200);
  const created = await api(main, 'POST', `/v1/${PARENT}/workflows/${id}/executions`, {
    argument: '{}',
  });
  expect(created.status, JSON.stringify(created)).toBe(200);
  return waitFor(async () => {
    const e = await api(main, 'GET', `/v1/${created.body.name}`);
    return e.body.state === 'ACTIVE' ? undefined : e.body;
  }, `the end of ${id}`);
}

describe('a workflow that doubles a value at every step', () => {
  it('ends FAILED with ResourceLimitError in a 160 MB heap, and local-cloud keeps serving', async () => {
    const main = await startMain(join(dir, 'data'), {}, ['--max-old-space-size=160']);
    for (const [id, source] of Object.entries(BOMBS)) {
      const ended = await runToEnd(main, id, source);
      expect(ended.state, JSON.stringify(ended)).toBe('FAILED');
      expect(JSON.parse(ended.error.payload)).toMatchObject({
        message: expect.stringContaining('Memory usage limit exceeded'),
        tags: ['ResourceLimitError'],
      });
    }
    const list = await api(main, 'GET', `/v1/${PARENT}/workflows`);
    expect(list.status).toBe(200);
    expect(main.child.exitCode).toBeNull();
  });
});

describe('a parallel for over a range of 10^12 iterations', () => {
  it('ends FAILED at the step limit in a 160 MB heap, and local-cloud keeps serving', async () => {
    const main = await startMain(join(dir, 'data'), {}, ['--max-old-space-size=160']);
    const ended = await runToEnd(main, 'probe-range', PARALLEL_RANGE);
    expect(ended.state, JSON.stringify(ended)).toBe('FAILED');
    expect(JSON.parse(ended.error.payload)).toMatchObject({
      message: expect.stringContaining('step limit of 100000 exceeded'),
      tags: ['ResourceLimitError'],
    });
    expect((await api(main, 'GET', `/v1/${PARENT}/workflows`)).status).toBe(200);
  });
});
