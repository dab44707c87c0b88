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
  GOOGLE_CLOUD_WORKFLOW_EXECUTION_ID: 'exec-123',
  BACKEND_URL: 'https://backend.test',
};

function context(run: ConnectorHandler, env: Record<string, string> = ENV, backendStatus = 204) {
  return recordingContext({
    env,
    connectors: { [RUN]: run },
    http: async () => ({ code: backendStatus, headers: {}, body: '' }),
  });
}

const succeeds: ConnectorHandler = async (args) => ({
  name: `${String(args.name)}/executions/processor-abc`,
  succeededCount: 1,
});

function failsWith(tag: string, message: string): ConnectorHandler {
  return async () => {
    throw new WorkflowRuntimeError({ message, tags: [tag] });
  };
}

describe('process-image.workflows.yaml, one image', () => {
  it('runs the processor job with TARGET_FILE_ID, one task and the task timeout, and returns the execution', async () => {
    const ctx = context(succeeds);
    const result = await executeWorkflow(program, { file_id: 'img-1' }, ctx);
    expect(result).toEqual({
      name: 'projects/demo-project/locations/europe-west1/jobs/processor/executions/processor-abc',
      succeededCount: 1,
    });
    expect(ctx.connectorCalls).toEqual([
      {
        name: RUN,
        args: {
          name: 'projects/demo-project/locations/europe-west1/jobs/processor',
          body: {
            overrides: {
              containerOverrides: [{ env: [{ name: 'TARGET_FILE_ID', value: 'img-1' }] }],
              taskCount: 1,
              timeout: '600s',
            },
          },
        },
        // 7,200 s > 300 + 600 × (3 + 1): see the comment in the YAML.
        timeoutSeconds: 7200,
        skipPolling: false,
      },
    ]);
    expect(ctx.httpCalls).toEqual([]);
  });

  it('takes the job name and task timeout from the deploy-time environment', async () => {
    const ctx = context(succeeds, {
      ...ENV,
      PROCESSOR_JOB: 'resizer',
      TASK_TIMEOUT_SECONDS: '900',
    });
    await executeWorkflow(program, { file_id: 'img-1' }, ctx);
    expect(ctx.connectorCalls[0]?.args).toMatchObject({
      name: 'projects/demo-project/locations/europe-west1/jobs/resizer',
      body: { overrides: { timeout: '900s' } },
    });
  });

  it('reports a failed job to the backend with OIDC and source workflow, then re-raises the OperationError', async () => {
    const ctx = context(
      failsWith('OperationError', 'Task processor-abc-task0 failed: exit code 137'),
    );
    await expect(executeWorkflow(program, { file_id: 'img-1' }, ctx)).rejects.toMatchObject({
      value: {
        message: 'Task processor-abc-task0 failed: exit code 137',
        tags: ['OperationError'],
      },
    });
    expect(ctx.httpCalls).toEqual([
      {
        method: 'POST',
        url: 'https://backend.test/api/processing/img-1/failed',
        headers: {},
        auth: { type: 'OIDC', audience: 'https://backend.test' },
        body: {
          code: 'JOB_FAILED',
          message: 'Task processor-abc-task0 failed: exit code 137',
          source: 'workflow',
          execution: 'exec-123',
        },
        timeoutSeconds: 30,
      },
    ]);
  });

  it('reports a timed-out wait as TIMEOUT, then re-raises the TimeoutError', async () => {
    const ctx = context(failsWith('TimeoutError', 'connector timed out'));
    await expect(executeWorkflow(program, { file_id: 'img-2' }, ctx)).rejects.toMatchObject({
      value: { tags: ['TimeoutError'] },
    });
    expect(ctx.httpCalls.map((c) => [c.url, (c.body as { code: string }).code])).toEqual([
      ['https://backend.test/api/processing/img-2/failed', 'TIMEOUT'],
    ]);
  });

  it.each([
    [403, "Permission 'run.jobs.runWithOverrides' denied on resource"],
    [404, "Resource 'processor' of kind 'JOB' does not exist."],
  ])(
    'reports a refusal to run the job (HTTP %i) as JOB_REFUSED, with the API message, then re-raises it',
    async (code, message) => {
      const ctx = context(async () => {
        throw new WorkflowRuntimeError({ message, code, tags: ['HttpError'] });
      });
      await expect(executeWorkflow(program, { file_id: 'img-3' }, ctx)).rejects.toMatchObject({
        value: { code, message, tags: ['HttpError'] },
      });
      expect(ctx.httpCalls.map((c) => [c.url, c.body])).toEqual([
        [
          'https://backend.test/api/processing/img-3/failed',
          {
            code: 'JOB_REFUSED',
            message: `Cloud Run refused to run job projects/demo-project/locations/europe-west1/jobs/processor (HTTP ${code}): ${message}`,
            source: 'workflow',
            execution: 'exec-123',
          },
        ],
      ]);
    },
  );

  it.each([
    ['HttpError 429', 'HttpError', 429],
    ['HttpError 503', 'HttpError', 503],
    ['HttpError 400', 'HttpError', 400],
    ['ConnectionFailedError', 'ConnectionFailedError', undefined],
  ])(
    'does not report %s (the job never ran; the reaper re-dispatches), and re-raises it',
    async (_label, tag, code) => {
      const ctx = context(async () => {
        throw new WorkflowRuntimeError({ message: 'no', ...(code ? { code } : {}), tags: [tag] });
      });
      await expect(executeWorkflow(program, { file_id: 'img-3' }, ctx)).rejects.toMatchObject({
        value: { tags: [tag] },
      });
      expect(ctx.httpCalls).toEqual([]);
    },
  );

  it('keeps the original error when the failure report itself fails, after retrying and logging it', async () => {
    const ctx = context(failsWith('OperationError', 'job failed'), ENV, 503);
    await expect(executeWorkflow(program, { file_id: 'img-4' }, ctx)).rejects.toMatchObject({
      value: { message: 'job failed', tags: ['OperationError'] },
    });
    expect(ctx.httpCalls).toHaveLength(6); // http.default_retry: 1 try + 5 retries
    expect(ctx.logs).toMatchObject([
      {
        severity: 'ERROR',
        data: { event: 'failure report to the backend failed', file_id: 'img-4' },
      },
    ]);
  });

  it('raises a clear ValueError when file_id is missing or the argument is absent', async () => {
    for (const argument of [{}, { file_id: '' }, null]) {
      const ctx = context(succeeds);
      const error = await executeWorkflow(program, argument, ctx).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WorkflowRuntimeError);
      expect((error as WorkflowRuntimeError).value).toMatchObject({ tags: ['ValueError'] });
      expect((error as WorkflowRuntimeError).message).toMatch(/file_id/);
      expect(ctx.connectorCalls).toEqual([]);
    }
  });

  it('refuses a file_id that is not a plain id (path characters, a number), before running anything', async () => {
    for (const fileId of ['../etc', 'a/b', 123, { id: 'x' }]) {
      const ctx = context(succeeds);
      const error = await executeWorkflow(program, { file_id: fileId }, ctx).catch(
        (e: unknown) => e,
      );
      expect((error as WorkflowRuntimeError).value).toMatchObject({ tags: ['ValueError'] });
      expect((error as WorkflowRuntimeError).message).toMatch(/^invalid file_id /);
      expect(ctx.connectorCalls).toEqual([]);
    }
  });

  it('refuses a task timeout that the connector wait could not cover, before running anything', async () => {
    const ctx = context(succeeds, { ...ENV, TASK_TIMEOUT_SECONDS: '3600' });
    await expect(executeWorkflow(program, { file_id: 'img-1' }, ctx)).rejects.toMatchObject({
      value: { tags: ['ValueError'] },
    });
    expect(ctx.connectorCalls).toEqual([]);
  });
});

describe('process-image.workflows.yaml, batch (one execution, at most JOB_PARALLELISM tasks)', () => {
  it('runs one execution with taskCount N and the ids comma-joined in TARGET_FILE_IDS', async () => {
    const ctx = context(succeeds);
    await executeWorkflow(program, { file_ids: ['a1', 'b2', 'c3'] }, ctx);
    expect(ctx.connectorCalls).toEqual([
      {
        name: RUN,
        args: {
          name: 'projects/demo-project/locations/europe-west1/jobs/processor',
          body: {
            overrides: {
              containerOverrides: [{ env: [{ name: 'TARGET_FILE_IDS', value: 'a1,b2,c3' }] }],
              taskCount: 3,
              timeout: '600s',
            },
          },
        },
        timeoutSeconds: 604800,
        skipPolling: false,
      },
    ]);
  });

  it('runs a batch larger than JOB_PARALLELISM as that many tasks, each timed for ceil(N / T) images', async () => {
    const ids = Array.from({ length: 25 }, (_, i) => `img-${i}`);
    for (const [parallelism, tasks, timeout] of [
      [undefined, 10, '1800s'], // the default 10: 25 images → 10 tasks of up to 3
      ['4', 4, '4200s'], // 25 → 4 tasks of up to 7
      ['1', 1, '15000s'], // the whole batch in one task
      ['25', 25, '600s'], // one image per task, as before
      ['40', 25, '600s'], // never more tasks than images
    ] as const) {
      const ctx = context(succeeds, {
        ...ENV,
        ...(parallelism ? { JOB_PARALLELISM: parallelism } : {}),
      });
      await executeWorkflow(program, { file_ids: ids }, ctx);
      expect(ctx.connectorCalls, `JOB_PARALLELISM=${parallelism}`).toMatchObject([
        {
          args: {
            body: {
              overrides: {
                containerOverrides: [{ env: [{ name: 'TARGET_FILE_IDS', value: ids.join(',') }] }],
                taskCount: tasks,
                timeout,
              },
            },
          },
          timeoutSeconds: 604800,
        },
      ]);
    }
  });

  it('keeps one image one task with the task timeout and the short wait, whatever JOB_PARALLELISM', async () => {
    for (const argument of [{ file_id: 'img-1' }, { file_ids: ['img-1'] }]) {
      const ctx = context(succeeds, { ...ENV, JOB_PARALLELISM: '1' });
      await executeWorkflow(program, argument, ctx);
      expect(ctx.connectorCalls).toMatchObject([
        {
          args: { body: { overrides: { taskCount: 1, timeout: '600s' } } },
          timeoutSeconds: 7200,
        },
      ]);
    }
  });

  it('refuses a batch whose images per task the connector wait could not cover, and JOB_PARALLELISM 0', async () => {
    // 300 + 600 × (3 + 1) × k ≤ 604,800 up to k = 251 images per task.
    const fits = context(succeeds, { ...ENV, JOB_PARALLELISM: '1' });
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `i${i}`);
    await executeWorkflow(program, { file_ids: ids(251) }, fits);
    expect(fits.connectorCalls[0]?.args).toMatchObject({
      body: { overrides: { taskCount: 1, timeout: '150600s' } },
    });
    for (const [parallelism, count, message] of [
      ['1', 252, /^the job needs up to 605100 s \(252 image\(s\) per task × 600 s × 4 attempts/],
      ['0', 2, /^JOB_PARALLELISM must be at least 1, not 0$/],
    ] as const) {
      const ctx = context(succeeds, { ...ENV, JOB_PARALLELISM: parallelism });
      await expect(executeWorkflow(program, { file_ids: ids(count) }, ctx)).rejects.toMatchObject({
        value: { tags: ['ValueError'], message: expect.stringMatching(message) },
      });
      expect(ctx.connectorCalls).toEqual([]);
    }
  });

  it('reports every id of a failed batch (the backend ignores those already processed)', async () => {
    const ctx = context(failsWith('OperationError', '1 task failed'));
    await expect(executeWorkflow(program, { file_ids: ['a1', 'b2'] }, ctx)).rejects.toMatchObject({
      value: { tags: ['OperationError'] },
    });
    expect(ctx.httpCalls.map((c) => c.url)).toEqual([
      'https://backend.test/api/processing/a1/failed',
      'https://backend.test/api/processing/b2/failed',
    ]);
  });

  it('refuses an empty batch, a batch that is not a list, and an id with a comma or of another type', async () => {
    for (const fileIds of [[], 'img-1', ['ok', 'a,b'], ['ok', 7]]) {
      const ctx = context(succeeds);
      await expect(executeWorkflow(program, { file_ids: fileIds }, ctx)).rejects.toMatchObject({
        value: { tags: ['ValueError'] },
      });
      expect(ctx.connectorCalls).toEqual([]);
    }
  });
});
