import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningLocalCloud } from '../src/server.ts';
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
import { writeJobScript } from './job-script.ts';

const W = `/v1/${PARENT}/workflows`;
let dir: string;
let cloud: RunningLocalCloud;
let target: Target;
let seq = 0;
/** The one job program these tests' jobs run (registered as the only command line). */
let script: string;

beforeAll(async () => {
  dir = tempDir();
  script = writeJobScript(dir);
  cloud = await startCloud(join(dir, 'data'), { jobCommands: [['node', script]] });
});
afterAll(async () => {
  await cloud.stop();
  removeDir(dir);
});
beforeEach(async () => {
  target = await startTarget();
});
afterEach(async () => {
  await target.close();
});

async function deploy(source: string, userEnvVars: Record<string, string> = {}): Promise<string> {
  const id = `wf-${++seq}`;
  const res = await api(cloud, 'POST', `${W}?workflowId=${id}`, {
    sourceContents: source,
    userEnvVars,
  });
  expect(res, JSON.stringify(res)).toMatchObject({ status: 200, body: { done: true } });
  return `${PARENT}/workflows/${id}`;
}

// biome-ignore lint/suspicious/noExplicitAny: Google JSON.
async function execute(workflow: string, argument: unknown): Promise<any> {
  const res = await api(cloud, 'POST', `/v1/${workflow}/executions`, {
    argument: JSON.stringify(argument),
  });
  expect(res, JSON.stringify(res)).toMatchObject({ status: 200, body: { state: 'ACTIVE' } });
  return waitFor(
    async () => {
      const got = await api(cloud, 'GET', `/v1/${res.body.name}`);
      return got.body.state === 'ACTIVE' ? undefined : got.body;
    },
    'the execution to finish',
    40_000,
  );
}

const ECHO = `
main:
  params: [args]
  steps:
    - answer:
        return:
          greeting: \${sys.get_env("GREETING") + " " + args.name}
          workflow: \${sys.get_env("GOOGLE_CLOUD_WORKFLOW_ID")}
          project: \${sys.get_env("GOOGLE_CLOUD_PROJECT_ID")}
`;

describe('Workflows deploy', () => {
  it('deploys a workflow as a done operation with a first revision', async () => {
    const name = await deploy(ECHO);
    const got = await api(cloud, 'GET', `/v1/${name}`);
    expect(got.body).toMatchObject({
      name,
      state: 'ACTIVE',
      revisionId: expect.stringMatching(/^000001-[0-9a-f]{3}$/),
    });
    const patched = await api(cloud, 'PATCH', `/v1/${name}?updateMask=sourceContents`, {
      sourceContents: `${ECHO}\n`,
    });
    expect(patched.body.response.revisionId).toMatch(/^000002-/);
    const op = await api(cloud, 'GET', `/v1/${patched.body.name}`);
    expect(op.body.done).toBe(true);
  });

  it('refuses a definition that does not parse with 400 INVALID_ARGUMENT', async () => {
    const res = await api(cloud, 'POST', `${W}?workflowId=broken`, {
      sourceContents: 'main:\n  steps:\n    - a:\n        frobnicate: 1\n',
    });
    expect(res.status).toBe(400);
    expect(res.body.error.status).toBe('INVALID_ARGUMENT');
    expect(res.body.error.message).toContain('Workflow is invalid');
  });
});

describe('Workflow executions', () => {
  it("refuses executions.create without local-cloud's token or with another one (401)", async () => {
    const name = await deploy(ECHO);
    const none = await api({ url: cloud.url }, 'POST', `/v1/${name}/executions`, {
      argument: '{}',
    });
    expect(none.status).toBe(401);
    expect(none.body.error.status).toBe('UNAUTHENTICATED');
    const wrong = await api(
      cloud,
      'POST',
      `/v1/${name}/executions`,
      { argument: '{}' },
      {
        authorization: 'Bearer something-else',
      },
    );
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.status).toBe('UNAUTHENTICATED');
  });

  it('runs a workflow with its argument, built-in env vars and userEnvVars', async () => {
    const name = await deploy(ECHO, { GREETING: 'hello' });
    const done = await execute(name, { name: 'ada' });
    expect(done.state).toBe('SUCCEEDED');
    expect(JSON.parse(done.result)).toEqual({
      greeting: 'hello ada',
      workflow: name.split('/').pop(),
      project: 'p1',
    });
    const list = await api(cloud, 'GET', `/v1/${name}/executions`);
    expect(list.body.executions[0]).toMatchObject({ name: done.name, state: 'SUCCEEDED' });
    expect(list.body.executions[0].result).toBeUndefined();
    const full = await api(
      cloud,
      'GET',
      `/v1/${name}/executions?view=FULL&filter=state="SUCCEEDED"`,
    );
    expect(full.body.executions[0].result).toBe(done.result);
  });

  it('lists only the executions whose labels match a labels.KEY="VALUE" filter', async () => {
    const name = await deploy(`
main:
  steps:
    - done:
        return: 1
`);
    const create = (key: string) =>
      api(cloud, 'POST', `/v1/${name}/executions`, { labels: { dispatch_key: key } });
    const a = await create('key-a');
    await create('key-b');
    const list = await api(
      cloud,
      'GET',
      `/v1/${name}/executions?view=FULL&filter=${encodeURIComponent('labels.dispatch_key="key-a"')}`,
    );
    expect(list.body.executions.map((e: { name: string }) => e.name)).toEqual([a.body.name]);
  });

  it('records a raised error as FAILED with the error map as payload', async () => {
    const name = await deploy(`
main:
  steps:
    - fail:
        raise:
          message: boom
          code: 42
`);
    const done = await execute(name, {});
    expect(done.state).toBe('FAILED');
    expect(JSON.parse(done.error.payload)).toMatchObject({ message: 'boom', code: 42 });
  });

  it('adds the local OIDC token to http calls with auth OIDC', async () => {
    const name = await deploy(`
main:
  params: [args]
  steps:
    - call:
        call: http.post
        args:
          url: \${args.url}
          auth:
            type: OIDC
          body:
            source: workflow
        result: r
    - done:
        return: \${r.code}
`);
    const done = await execute(name, { url: `${target.url}/api/processing/x/failed` });
    expect(done.state).toBe('SUCCEEDED');
    expect(target.received[0]?.headers.authorization).toBe('Bearer local-oidc-token-for-tests');
    expect(JSON.parse(target.received[0]?.body ?? '')).toEqual({ source: 'workflow' });
  });

  it('cancels a running execution', async () => {
    const name = await deploy(`
main:
  steps:
    - wait:
        call: sys.sleep
        args:
          seconds: 60
`);
    const res = await api(cloud, 'POST', `/v1/${name}/executions`, {});
    const cancelled = await api(cloud, 'POST', `/v1/${res.body.name}:cancel`, {});
    // The answer is the execution as stored before it was sent: ended, with its error, so a
    // stop right after the answer cannot leave it ACTIVE to re-run on the next start.
    expect(cancelled.body).toMatchObject({
      state: 'CANCELLED',
      endTime: expect.any(String),
      error: { payload: 'Execution was cancelled' },
    });
    const got = await api(cloud, 'GET', `/v1/${res.body.name}`);
    expect(got.body).toEqual(cancelled.body);
    // A second cancel finds it ended.
    const again = await api(cloud, 'POST', `/v1/${res.body.name}:cancel`, {});
    expect(again.status).toBe(400);
  });

  it('is created by a Cloud Task carrying the OAuth token, like the production chain', async () => {
    const name = await deploy(ECHO, { GREETING: 'queued' });
    const queue = `${PARENT}/queues/to-workflows`;
    await api(cloud, 'POST', `/v2/${PARENT}/queues`, { name: queue });
    await api(cloud, 'POST', `/v2/${queue}/tasks`, {
      task: {
        httpRequest: {
          url: `${cloud.url}/v1/${name}/executions`,
          body: Buffer.from(
            JSON.stringify({ argument: JSON.stringify({ name: 'task' }) }),
          ).toString('base64'),
          headers: { 'content-type': 'application/json' },
          oauthToken: { serviceAccountEmail: 'tasks@p1.iam.gserviceaccount.com' },
        },
      },
    });
    const execution = await waitFor(async () => {
      const list = await api(cloud, 'GET', `/v1/${name}/executions?view=FULL`);
      const e = list.body.executions?.[0];
      return e?.state === 'SUCCEEDED' ? e : undefined;
    }, 'the execution created by the task');
    expect(JSON.parse(execution.result).greeting).toBe('queued task');
  });
});

describe('The Cloud Run jobs.run connector', () => {
  const RUN_JOB = `
main:
  params: [args]
  steps:
    - run:
        try:
          call: googleapis.run.v2.projects.locations.jobs.run
          args:
            name: \${args.job}
            body:
              overrides:
                containerOverrides:
                  - env:
                      - name: TARGET_FILE_ID
                        value: \${args.file_id}
          result: execution
        except:
          as: e
          steps:
            - report:
                return:
                  failed: true
                  tags: \${e.tags}
                  hasOperation: \${"operation" in e}
    - done:
        return:
          succeeded: \${execution.succeededCount}
`;

  async function job(mode: string): Promise<{ name: string; out: string }> {
    const out = join(dir, `connector-${++seq}`);
    mkdirSync(out);
    const id = `connector-${seq}`;
    await api(cloud, 'POST', `/v2/${PARENT}/jobs?jobId=${id}`, {
      template: {
        template: {
          maxRetries: 1,
          containers: [
            {
              command: ['node', script],
              env: [
                { name: 'MODE', value: mode },
                { name: 'SUCCEED_AT', value: '99' },
                { name: 'OUT_DIR', value: out },
              ],
            },
          ],
        },
      },
    });
    return { name: `${PARENT}/jobs/${id}`, out };
  }

  it('runs the job with the overrides and returns the finished execution', async () => {
    const j = await job('ok');
    const name = await deploy(RUN_JOB);
    const done = await execute(name, { job: j.name, file_id: 'image-7' });
    expect(done.state, JSON.stringify(done)).toBe('SUCCEEDED');
    expect(JSON.parse(done.result)).toEqual({ succeeded: 1 });
    const env = JSON.parse(readFileSync(join(j.out, 't0-a0.json'), 'utf8'));
    expect(env.TARGET_FILE_ID).toBe('image-7');
  });

  it('raises OperationError with the operation when the job execution fails', async () => {
    const j = await job('fail-until');
    const name = await deploy(RUN_JOB);
    const done = await execute(name, { job: j.name, file_id: 'image-8' });
    expect(JSON.parse(done.result)).toEqual({
      failed: true,
      tags: ['OperationError'],
      hasOperation: true,
    });
  });
});

describe('The jobs.run connector with skip_polling', () => {
  it('returns the operation at once without waiting for the job', async () => {
    const out = join(dir, `skip-${++seq}`);
    mkdirSync(out);
    await api(cloud, 'POST', `/v2/${PARENT}/jobs?jobId=skip-${seq}`, {
      template: {
        template: {
          containers: [
            {
              command: ['node', script],
              env: [
                { name: 'MODE', value: 'ok' },
                { name: 'OUT_DIR', value: out },
              ],
            },
          ],
        },
      },
    });
    const name = await deploy(`
main:
  steps:
    - run:
        call: googleapis.run.v2.projects.locations.jobs.run
        args:
          name: ${PARENT}/jobs/skip-${seq}
          connector_params:
            skip_polling: true
        result: operation
    - done:
        return: \${operation}
`);
    const done = await execute(name, {});
    const operation = JSON.parse(done.result);
    expect(operation.name).toMatch(new RegExp(`^${PARENT}/operations/`));
    expect(operation.done).toBe(false);
    await waitFor(async () => {
      const op = await api(cloud, 'GET', `/v2/${operation.name}`);
      return op.body.done ? true : undefined;
    }, 'the job to finish anyway');
  });
});
