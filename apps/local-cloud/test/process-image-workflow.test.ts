/**
 * The repository's real workflows/process-image.workflows.yaml on local-cloud:
 * Workflows → the Cloud Run connector → a job task process, and the `except`
 * path reporting to a fake backend with the local OIDC token.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@slideshow/tools/shared-dir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

let dir: string;
let out: string;
let cloud: RunningLocalCloud;
let backend: Target;

async function registerProcessor(mode: string): Promise<void> {
  const job = {
    template: {
      template: {
        maxRetries: 1,
        timeout: '30s',
        containers: [
          {
            image: 'local/processor',
            command: ['node', join(dir, 'job.cjs')],
            env: [
              { name: 'MODE', value: mode },
              { name: 'SUCCEED_AT', value: '99' },
              { name: 'OUT_DIR', value: out },
            ],
          },
        ],
      },
    },
  };
  const res = await api(cloud, 'PATCH', `/v2/${PARENT}/jobs/processor?allowMissing=true`, job);
  expect(res.status, JSON.stringify(res)).toBe(200);
}

// biome-ignore lint/suspicious/noExplicitAny: Google JSON.
async function execute(argument: unknown, workflow = 'process-image'): Promise<any> {
  const res = await api(
    cloud,
    'POST',
    `/v1/${PARENT}/workflows/${workflow}/executions`,
    { argument: JSON.stringify(argument) },
    { authorization: `Bearer ${cloud.oauthToken}` },
  );
  expect(res.status, JSON.stringify(res)).toBe(200);
  return waitFor(
    async () => {
      const e = await api(cloud, 'GET', `/v1/${res.body.name}`);
      return e.body.state === 'ACTIVE' ? undefined : e.body;
    },
    'the execution',
    40_000,
  );
}

beforeAll(async () => {
  dir = tempDir();
  out = join(dir, 'out');
  mkdirSync(out);
  writeJobScript(dir);
  backend = await startTarget();
  cloud = await startCloud(join(dir, 'data'), { jobCommands: [['node', join(dir, 'job.cjs')]] });
  const source = readFileSync(join(repoRoot, 'workflows/process-image.workflows.yaml'), 'utf8');
  const res = await api(cloud, 'POST', `/v1/${PARENT}/workflows?workflowId=process-image`, {
    sourceContents: source,
    userEnvVars: { BACKEND_URL: backend.url, MAX_RETRIES: '1', TASK_TIMEOUT_SECONDS: '30' },
  });
  expect(res.status, JSON.stringify(res)).toBe(200);
  // The same workflow deployed with a job name that does not exist (a broken deploy).
  const missing = await api(cloud, 'POST', `/v1/${PARENT}/workflows?workflowId=process-missing`, {
    sourceContents: source,
    userEnvVars: { BACKEND_URL: backend.url, PROCESSOR_JOB: 'no-such-job' },
  });
  expect(missing.status, JSON.stringify(missing)).toBe(200);
});
afterAll(async () => {
  await cloud.stop();
  await backend.close();
  removeDir(dir);
});

describe('process-image.workflows.yaml on local-cloud', () => {
  it('runs the processor job with TARGET_FILE_ID and returns the finished execution', async () => {
    await registerProcessor('ok');
    const done = await execute({ file_id: 'img-ok' });
    expect(done.state, JSON.stringify(done)).toBe('SUCCEEDED');
    expect(JSON.parse(done.result)).toMatchObject({ succeededCount: 1 });
    const env = JSON.parse(readFileSync(join(out, 't0-a0.json'), 'utf8'));
    expect(env).toMatchObject({ TARGET_FILE_ID: 'img-ok', CLOUD_RUN_JOB: 'processor' });
  });

  it('reports a job that failed every attempt to the backend with the OIDC token, then fails', async () => {
    await registerProcessor('fail-until');
    const done = await execute({ file_id: 'img-bad' });
    expect(done.state, JSON.stringify(done)).toBe('FAILED');
    expect(JSON.parse(done.error.payload).tags).toContain('OperationError');
    const report = backend.received.find((r) => r.url === '/api/processing/img-bad/failed');
    expect(report, JSON.stringify(backend.received)).toBeDefined();
    expect(report?.headers.authorization).toBe(`Bearer ${cloud.oidcToken}`);
    expect(JSON.parse(report?.body ?? '{}')).toMatchObject({ source: 'workflow' });
  });

  it('reports a job the Run API does not know as JOB_REFUSED at once, then fails with its 404', async () => {
    const done = await execute({ file_id: 'img-nojob' }, 'process-missing');
    expect(done.state, JSON.stringify(done)).toBe('FAILED');
    expect(JSON.parse(done.error.payload)).toMatchObject({ code: 404, tags: ['HttpError'] });
    const report = backend.received.find((r) => r.url === '/api/processing/img-nojob/failed');
    expect(report, JSON.stringify(backend.received)).toBeDefined();
    expect(report?.headers.authorization).toBe(`Bearer ${cloud.oidcToken}`);
    const body = JSON.parse(report?.body ?? '{}');
    const job = `${PARENT}/jobs/no-such-job`;
    expect(body).toMatchObject({
      code: 'JOB_REFUSED',
      source: 'workflow',
      message: `Cloud Run refused to run job ${job} (HTTP 404): Job does not exist: ${job}`,
    });
  });
});
