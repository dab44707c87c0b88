/**
 * The Workflows connector `googleapis.run.v2.projects.locations.jobs.run`
 * (https://cloud.google.com/workflows/docs/reference/googleapis/run/v2/projects.locations.jobs/run)
 * served by the local Cloud Run emulator: runs the job, waits for the
 * operation unless skip_polling, and raises OperationError like Google's
 * connectors when the execution failed.
 *
 * Calls are recorded per workflow execution (the n-th call → its operation):
 * when an execution is re-run after a restart, its n-th call waits for the job
 * run the first attempt started instead of starting a second one.
 */
import type { Db } from '../db.ts';
import { ApiError } from '../google-error.ts';
import type { ConnectorHandler } from '../workflows/index.ts';
import { WorkflowRuntimeError } from '../workflows/index.ts';
import type { RunService } from './service.ts';

/** Where connector calls are recorded. */
export interface ConnectorCalls {
  get(execution: string, seq: number): string | undefined;
  put(execution: string, seq: number, operation: string): void;
}

/** Creates the connector-calls store. */
export function createConnectorCalls(db: Db): ConnectorCalls {
  const get = db.prepare<[string, number], { operation: string }>(
    'SELECT operation FROM connector_calls WHERE execution = ? AND seq = ?',
  );
  const put = db.prepare(
    'INSERT OR REPLACE INTO connector_calls (execution, seq, operation) VALUES (?, ?, ?)',
  );
  return {
    get: (execution, seq) => get.get(execution, seq)?.operation,
    put: (execution, seq, operation) => {
      put.run(execution, seq, operation);
    },
  };
}

function withoutType(
  value: Record<string, unknown> | undefined,
): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  const { '@type': _type, ...rest } = value;
  return rest;
}

/** Creates the jobs.run connector handler for one workflow execution. */
export function createJobsRunConnector(
  service: RunService,
  calls: ConnectorCalls,
  workflowExecution: string,
): ConnectorHandler {
  let seq = 0;
  return async (args, options) => {
    const callSeq = seq++;
    const name = typeof args.name === 'string' ? args.name : '';
    const body =
      args.body !== null && typeof args.body === 'object'
        ? (args.body as Record<string, unknown>)
        : {};
    let operation: ReturnType<RunService['runJob']>;
    try {
      const earlier = calls.get(workflowExecution, callSeq);
      if (earlier === undefined) {
        operation = service.runJob(name, body);
        calls.put(workflowExecution, callSeq, operation.name);
      } else {
        operation = service.getOperation(earlier);
      }
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
