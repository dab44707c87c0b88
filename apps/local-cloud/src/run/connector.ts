/**
 * The Workflows connector `googleapis.run.v2.projects.locations.jobs.run`
 * (https://cloud.google.com/workflows/docs/reference/googleapis/run/v2/projects.locations.jobs/run)
 * served by the local Cloud Run emulator: runs the job, waits for the
 * operation unless skip_polling, and raises OperationError like Google's
 * connectors when the execution failed.
 */
import { ApiError } from '../google-error.ts';
import type { ConnectorHandler } from '../workflows/index.ts';
import { WorkflowRuntimeError } from '../workflows/index.ts';
import type { RunService } from './routes.ts';

function withoutType(
  value: Record<string, unknown> | undefined,
): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  const { '@type': _type, ...rest } = value;
  return rest;
}

/** Creates the jobs.run connector handler. */
export function createJobsRunConnector(service: RunService): ConnectorHandler {
  return async (args, options) => {
    const name = typeof args.name === 'string' ? args.name : '';
    const body =
      args.body !== null && typeof args.body === 'object'
        ? (args.body as Record<string, unknown>)
        : {};
    let operation: ReturnType<RunService['runJob']>;
    try {
      operation = service.runJob(name, body);
    } catch (error) {
      if (error instanceof ApiError) {
        throw new WorkflowRuntimeError({
          message: error.message,
          code: error.httpCode,
          body: error.toBody(),
          tags: ['HttpError'],
        });
      }
      throw error;
    }
    if (options.skipPolling) return operation;
    const final = await service.waitOperation(operation.name, options.signal);
    if (!final.done) {
      throw new WorkflowRuntimeError({
        message: `operation ${final.name} did not finish`,
        tags: ['TimeoutError'],
      });
    }
    if (final.error) {
      throw new WorkflowRuntimeError({
        message: final.error.message,
        tags: ['OperationError'],
        operation: final,
      });
    }
    return withoutType(final.response);
  };
}
