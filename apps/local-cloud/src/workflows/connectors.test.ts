import { describe, expect, it } from 'vitest';
import { WorkflowRuntimeError } from './errors.ts';
import { recordingContext, run, runError } from './test-support.ts';

describe('connectors', () => {
  const source = `
- run:
    call: googleapis.run.v2.projects.locations.jobs.run
    args:
      name: "projects/p/locations/l/jobs/j"
      connector_params:
        timeout: 0.1
        skip_polling: true
    result: r
- done:
    return: \${r}
`;

  it('passes args without connector_params, and the timeout and skip_polling options', async () => {
    const ctx = recordingContext({
      connectors: {
        'googleapis.run.v2.projects.locations.jobs.run': async () => ({ name: 'executions/e1' }),
      },
    });
    expect(await run(source, null, ctx)).toEqual({ name: 'executions/e1' });
    expect(ctx.connectorCalls).toEqual([
      {
        name: 'googleapis.run.v2.projects.locations.jobs.run',
        args: { name: 'projects/p/locations/l/jobs/j' },
        timeoutSeconds: 0.1,
        skipPolling: true,
      },
    ]);
  });

  it('raises TimeoutError when the connector does not finish within connector_params.timeout, and aborts it', async () => {
    let aborted = false;
    const ctx = recordingContext({
      connectors: {
        'googleapis.run.v2.projects.locations.jobs.run': (_args, { signal }) =>
          new Promise((_resolve, reject) => {
            signal.addEventListener('abort', () => {
              aborted = true;
              reject(new Error('aborted'));
            });
          }),
      },
    });
    expect(await runError(source, null, ctx)).toMatchObject({ tags: ['TimeoutError'] });
    expect(aborted).toBe(true);
  });

  it('passes an error map thrown by the connector through unchanged', async () => {
    const ctx = recordingContext({
      connectors: {
        'googleapis.run.v2.projects.locations.jobs.run': async () => {
          throw new WorkflowRuntimeError({
            message: 'task failed',
            tags: ['OperationError'],
            operation: { name: 'op' },
          });
        },
      },
    });
    expect(await runError(source, null, ctx)).toEqual({
      message: 'task failed',
      tags: ['OperationError'],
      operation: { name: 'op' },
    });
  });

  it('ends a cancelled execution even inside try/except while a connector waits', async () => {
    const controller = new AbortController();
    const ctx = recordingContext({
      signal: controller.signal,
      connectors: {
        'googleapis.run.v2.projects.locations.jobs.run': (_args, { signal }) =>
          new Promise((_resolve, reject) => {
            signal.addEventListener('abort', () => reject(new Error('aborted')));
            setImmediate(() => controller.abort());
          }),
      },
    });
    const guarded = `
- t:
    try:
      call: googleapis.run.v2.projects.locations.jobs.run
      args:
        name: x
    except:
      as: e
      steps:
        - swallow:
            return: "caught"
`;
    expect(await runError(guarded, null, ctx)).toMatchObject({ tags: ['CancelledError'] });
  });

  it('retries a connector call answered with 503 (Cloud Run API hiccups), like Google connectors do', async () => {
    let calls = 0;
    const ctx = recordingContext({
      connectors: {
        'googleapis.run.v2.projects.locations.jobs.run': async () => {
          calls++;
          if (calls <= 2)
            throw new WorkflowRuntimeError({
              message: 'unavailable',
              code: 503,
              tags: ['HttpError'],
            });
          return { name: 'executions/e2' };
        },
      },
    });
    expect(await run(source, null, ctx)).toEqual({ name: 'executions/e2' });
    expect(ctx.sleeps).toEqual([1000, 1250]);
  });

  it('does not retry a connector call refused with 400', async () => {
    const ctx = recordingContext({
      connectors: {
        'googleapis.run.v2.projects.locations.jobs.run': async () => {
          throw new WorkflowRuntimeError({ message: 'bad', code: 400, tags: ['HttpError'] });
        },
      },
    });
    expect(await runError(source, null, ctx)).toMatchObject({ code: 400 });
    expect(ctx.connectorCalls).toHaveLength(1);
  });

  it('names a connector the host does not serve', async () => {
    const error = await runError(source);
    expect(error.message).toMatch(
      /unsupported: connector googleapis.run.v2.projects.locations.jobs.run/,
    );
  });
});
