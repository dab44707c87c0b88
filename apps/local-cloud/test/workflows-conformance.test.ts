/**
 * The Workflows conformance suite through local-cloud's HTTP API: each
 * workflow in test/conformance/ is deployed with workflows.create and run with
 * executions.create, and must end as Google documents (conformance-cases.ts).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningLocalCloud } from '../src/server.ts';
import { barrierServer } from '../src/workflows/test-barriers.ts';
import { conformanceSource, REJECTED, SUCCEEDING } from './conformance-cases.ts';
import { api, PARENT, removeDir, startCloud, tempDir, waitFor } from './helpers.ts';

const W = `/v1/${PARENT}/workflows`;
let dir: string;
let cloud: RunningLocalCloud;

beforeAll(async () => {
  dir = tempDir();
  cloud = await startCloud(join(dir, 'data'));
});
afterAll(async () => {
  await cloud.stop();
  removeDir(dir);
});

async function deploy(id: string, source: string): Promise<void> {
  const res = await api(cloud, 'POST', `${W}?workflowId=${id}`, { sourceContents: source });
  expect(res, JSON.stringify(res)).toMatchObject({ status: 200, body: { done: true } });
}

// biome-ignore lint/suspicious/noExplicitAny: Google JSON.
async function execute(id: string, argument: unknown): Promise<any> {
  const res = await api(cloud, 'POST', `${W}/${id}/executions`, {
    argument: JSON.stringify(argument),
  });
  expect(res, JSON.stringify(res)).toMatchObject({ status: 200, body: { state: 'ACTIVE' } });
  return waitFor(
    async () => {
      const got = await api(cloud, 'GET', `/v1/${res.body.name}`);
      return got.body.state === 'ACTIVE' ? undefined : got.body;
    },
    `execution of ${id} to finish`,
    40_000,
  );
}

describe('conformance workflows that succeed', () => {
  it.each(SUCCEEDING)('$name returns what Google documents', async ({ name, argument, result }) => {
    await deploy(name, conformanceSource(name));
    const done = await execute(name, argument);
    expect(done, JSON.stringify(done)).toMatchObject({ state: 'SUCCEEDED' });
    expect(JSON.parse(done.result)).toEqual(result);
  });

  it('parallel-branches: both HTTP calls are in flight together (the server answers only then)', async () => {
    const server = await barrierServer(2, 20_000);
    try {
      await deploy('parallel-branches', conformanceSource('parallel-branches'));
      const done = await execute('parallel-branches', { base: server.url });
      expect(done, JSON.stringify(done)).toMatchObject({ state: 'SUCCEEDED' });
      expect(JSON.parse(done.result)).toEqual({ north: '/north', south: '/south' });
    } finally {
      await server.close();
    }
  });

  it('parallel-uncaught: an UnhandledBranchError fails the execution with the branch in its payload', async () => {
    await deploy('parallel-uncaught', conformanceSource('parallel-uncaught'));
    const done = await execute('parallel-uncaught', null);
    expect(done.state).toBe('FAILED');
    const payload = JSON.parse(done.error.payload);
    expect(payload).toMatchObject({
      tags: ['UnhandledBranchError'],
      branches: [{ id: 'failing' }],
      truncated: false,
    });
    expect(JSON.parse(payload.branches[0].error.payload)).toEqual({
      code: 418,
      message: 'teapot branch',
    });
    expect(payload.branches[0].error.context).toBe(
      'teapot branch\nin step "explode", routine "main", line: 16',
    );
    expect(done.error.context).toMatch(
      /^UnhandledBranchError: .*\nin step "split", routine "main", line: 6$/,
    );
  });
});

describe('conformance workflows that Google refuses at deploy', () => {
  it.each(REJECTED)(
    '$name is refused with 400 and a message naming the line',
    async ({ name, message }) => {
      const res = await api(cloud, 'POST', `${W}?workflowId=rejected-${name}`, {
        sourceContents: conformanceSource(`rejected/${name}`),
      });
      expect(res, JSON.stringify(res)).toMatchObject({
        status: 400,
        body: { error: { status: 'INVALID_ARGUMENT', message: `Workflow is invalid: ${message}` } },
      });
    },
  );
});

describe('connectors for the APIs local-cloud serves', () => {
  it('runs a child workflow and waits for it, creates one without waiting, and raises for a failed one', async () => {
    await deploy('child-double', conformanceSource('child-double'));
    await deploy('child-failing', conformanceSource('child-failing'));
    await deploy('connector-executions', conformanceSource('connector-executions'));
    const done = await execute('connector-executions', {
      child: 'child-double',
      failing: 'child-failing',
    });
    expect(done, JSON.stringify(done)).toMatchObject({ state: 'SUCCEEDED' });
    expect(JSON.parse(done.result)).toEqual({
      doubled: 42,
      created: 'ACTIVE',
      failure: ['ExecutionError'],
      childState: 'FAILED',
    });
    const children = await api(cloud, 'GET', `${W}/child-double/executions`);
    expect(children.body.executions).toHaveLength(2);
  });

  it('creates, pauses, lists and deletes Cloud Tasks queues and tasks, and raises HttpError 404', async () => {
    await deploy('connector-tasks', conformanceSource('connector-tasks'));
    const done = await execute('connector-tasks', { queue: 'conformance-held' });
    expect(done, JSON.stringify(done)).toMatchObject({ state: 'SUCCEEDED' });
    expect(JSON.parse(done.result)).toEqual({
      state: 'PAUSED',
      listed: 1,
      url: 'http://127.0.0.1:9/held',
      missing: 404,
    });
    const queue = await api(cloud, 'GET', `/v2/${PARENT}/queues/conformance-held`);
    expect(queue.status).toBe(404);
  });
});
