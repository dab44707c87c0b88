/**
 * workflows/process-image.workflows.yaml and generations (docs/reliability.md,
 * "Generations"): the generation in the argument reaches the processor
 * (TARGET_GENERATION, TARGET_GENERATIONS) and every failure report, and a
 * report the backend refuses as stale (409) is expected, not an error.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@slideshow/tools/shared-dir';
import { describe, expect, it } from 'vitest';
import type { ConnectorHandler } from './context.ts';
import { WorkflowRuntimeError } from './errors.ts';
import { executeWorkflow } from './execute.ts';
import { parseWorkflow } from './parse.ts';
import { recordingContext } from './test-support.ts';

const program = parseWorkflow(
  readFileSync(join(repoRoot, 'workflows', 'process-image.workflows.yaml'), 'utf8'),
);
const RUN = 'googleapis.run.v2.projects.locations.jobs.run';
const ENV = {
  GOOGLE_CLOUD_PROJECT_ID: 'demo-project',
  GOOGLE_CLOUD_LOCATION: 'europe-west1',
  GOOGLE_CLOUD_WORKFLOW_EXECUTION_ID: 'exec-7',
  BACKEND_URL: 'https://backend.test',
};

const succeeds: ConnectorHandler = async () => ({ name: 'x', succeededCount: 1 });
const fails: ConnectorHandler = async () => {
  throw new WorkflowRuntimeError({ message: 'exit code 137', tags: ['OperationError'] });
};

function context(run: ConnectorHandler, backendStatus = 204) {
  return recordingContext({
    env: ENV,
    connectors: { [RUN]: run },
    http: async () => ({ code: backendStatus, headers: {}, body: '' }),
  });
}

type RunBody = { overrides: { containerOverrides: { env: unknown }[] } };
const envOf = (ctx: ReturnType<typeof context>) =>
  (ctx.connectorCalls[0]?.args.body as RunBody | undefined)?.overrides.containerOverrides[0]?.env;

describe('process-image.workflows.yaml, generations', () => {
  it('passes the generation to the processor as TARGET_GENERATION', async () => {
    const ctx = context(succeeds);
    await executeWorkflow(program, { file_id: 'img-1', generation: 3 }, ctx);
    expect(envOf(ctx)).toEqual([
      { name: 'TARGET_FILE_ID', value: 'img-1' },
      { name: 'TARGET_GENERATION', value: '3' },
    ]);
  });

  it('names the generation in its failure report', async () => {
    const ctx = context(fails);
    await expect(
      executeWorkflow(program, { file_id: 'img-1', generation: 2 }, ctx),
    ).rejects.toBeInstanceOf(WorkflowRuntimeError);
    expect(ctx.httpCalls.map((c) => c.body)).toEqual([
      {
        code: 'JOB_FAILED',
        message: 'exit code 137',
        source: 'workflow',
        execution: 'exec-7',
        generation: 2,
      },
    ]);
  });

  it('passes a batch its generations as TARGET_GENERATIONS and names each one in its report', async () => {
    const ok = context(succeeds);
    await executeWorkflow(program, { file_ids: ['a1', 'b2'], generations: [0, 4] }, ok);
    expect(envOf(ok)).toEqual([
      { name: 'TARGET_FILE_IDS', value: 'a1,b2' },
      { name: 'TARGET_GENERATIONS', value: '0,4' },
    ]);
    const failed = context(fails);
    await expect(
      executeWorkflow(program, { file_ids: ['a1', 'b2'], generations: [0, 4] }, failed),
    ).rejects.toBeInstanceOf(WorkflowRuntimeError);
    expect(
      failed.httpCalls.map((c) => [c.url, (c.body as { generation: number }).generation]),
    ).toEqual([
      ['https://backend.test/api/processing/a1/failed', 0],
      ['https://backend.test/api/processing/b2/failed', 4],
    ]);
  });

  it('refuses a generation that is not a non-negative integer, and generations that do not match the ids', async () => {
    const bad: unknown[] = [
      { file_id: 'img-1', generation: -1 },
      { file_id: 'img-1', generation: '1' },
      { file_id: 'img-1', generation: 1.5 },
      { file_ids: ['a1', 'b2'], generations: [0] },
      { file_ids: ['a1', 'b2'], generations: [0, 'x'] },
      { file_ids: ['a1', 'b2'], generations: 3 },
    ];
    for (const argument of bad) {
      const ctx = context(succeeds);
      const error = await executeWorkflow(program, argument, ctx).catch((e: unknown) => e);
      expect((error as WorkflowRuntimeError).value, JSON.stringify(argument)).toMatchObject({
        tags: ['ValueError'],
      });
      expect(ctx.connectorCalls).toEqual([]);
    }
  });

  it('logs a report the backend refused as stale at WARNING, not as a failed report, and keeps the job error', async () => {
    const ctx = context(fails, 409);
    await expect(
      executeWorkflow(program, { file_id: 'img-1', generation: 0 }, ctx),
    ).rejects.toMatchObject({ value: { tags: ['OperationError'] } });
    expect(ctx.httpCalls).toHaveLength(1); // 409 is final: not retried
    expect(ctx.logs).toMatchObject([
      {
        severity: 'WARNING',
        data: { event: 'failure report refused: the image has a newer generation', generation: 0 },
      },
    ]);
  });
});
