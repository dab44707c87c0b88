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
    const created = await api(
      first,
      'POST',
      `/v1/${name}/executions`,
      { argument: JSON.stringify({ url: `${target.url}/slow` }) },
      { authorization: 'Bearer local-oauth-token-for-tests' },
    );
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
});
