/**
 * The Cloud Run service of local-cloud, shared by the v2 REST routes
 * (routes.ts), the v1 routes gcloud uses (v1-routes.ts) and the Workflows
 * connector (connector.ts): jobs created, updated and run with Google's
 * checks (model.ts) and the local job policy, executions started, cancelled
 * and awaited, and the long-running operations that report them.
 */
import { randomUUID } from 'node:crypto';
import { ApiError, notFound, RPC_CODE } from '../google-error.ts';
import type { Operation, OperationsStore } from '../operations.ts';
import type { JobPolicy } from './job-policy.ts';
import {
  applyOverrides,
  type Execution,
  executionDone,
  executionSucceeded,
  type Job,
  normalizeTemplate,
  reconciled,
} from './model.ts';
import type { JobRunner } from './runner.ts';
import type { RunStore } from './store.ts';

const EXECUTION_TYPE = 'type.googleapis.com/google.cloud.run.v2.Execution';

/** The Operation for a job execution, reflecting its current state. */
export function executionOperation(name: string, execution: Execution): Operation {
  const op: Operation = {
    name,
    metadata: { '@type': EXECUTION_TYPE, ...execution },
    done: executionDone(execution),
  };
  if (!op.done) return op;
  if (executionSucceeded(execution)) {
    op.response = { '@type': EXECUTION_TYPE, ...execution };
  } else {
    const message =
      execution.conditions.find((c) => c.type === 'Completed')?.message ?? 'The execution failed.';
    op.error = { code: RPC_CODE.UNKNOWN, message };
  }
  return op;
}

/** What a job is made from: the v2 body's `template` and `labels`. */
export interface JobBody {
  template?: unknown;
  labels?: unknown;
}

/** The Cloud Run service. */
export interface RunService {
  /** Creates job `name` (`projects/P/locations/L/jobs/J`); ALREADY_EXISTS when it exists. */
  createJob(name: string, body: JobBody): Job;
  /** Replaces an existing job's template (and labels when given); a new generation. */
  updateJob(name: string, body: JobBody): Job;
  /** jobs:run — starts an execution with `overrides` (v2 RunJobRequest.overrides). */
  startExecution(jobName: string, overrides: unknown): Execution;
  /** jobs:run — returns the operation (not done). */
  runJob(jobName: string, body: Record<string, unknown>): Operation;
  /** Reads an operation by name. */
  getOperation(name: string): Operation;
  /** Cancels a running execution: FAILED_PRECONDITION when it is not running. */
  cancelExecution(execution: Execution): void;
  /** Deletes a finished execution: FAILED_PRECONDITION while it runs. */
  deleteExecution(execution: Execution): void;
  /** Waits for the execution behind a job-execution operation. */
  waitOperation(name: string, signal?: AbortSignal): Promise<Operation>;
}

/** Dependencies of the service. */
export interface RunServiceDeps {
  store: RunStore;
  operations: OperationsStore;
  runner: () => JobRunner;
  policy: JobPolicy;
  now?: () => number;
}

function labelsOf(body: JobBody): Record<string, string> | undefined {
  if (body.labels === null || typeof body.labels !== 'object' || Array.isArray(body.labels)) {
    return undefined;
  }
  return Object.fromEntries(Object.entries(body.labels).map(([k, v]) => [k, String(v)]));
}

/** Builds the Cloud Run service. */
export function createRunService(deps: RunServiceDeps): RunService {
  const { store, operations, runner, policy } = deps;
  const now = deps.now ?? Date.now;
  const mustJob = (name: string): Job => {
    const job = store.getJob(name);
    if (!job) throw notFound('Job', name);
    return job;
  };
  const getOperation = (name: string): Operation => {
    const stored = operations.get(name);
    if (!stored) throw notFound('Operation', name);
    if (stored.kind === 'static') return stored.operation;
    const execution = store.getExecution(stored.execution);
    if (!execution) throw notFound('Execution', stored.execution);
    return executionOperation(name, execution);
  };
  const startExecution = (jobName: string, overrides: unknown): Execution => {
    const job = mustJob(jobName);
    // A job stored before its command line or pinned env was registered (or since changed) cannot run.
    policy.checkContainer(job.template.template.containers[0] ?? {}, 'job container');
    const template = applyOverrides(job.template, overrides, policy);
    policy.checkContainer(template.template.containers[0] ?? {}, 'overrides.containerOverrides');
    return runner().start(job, template);
  };
  return {
    createJob(name, body) {
      if (store.getJob(name)) {
        throw new ApiError(
          'ALREADY_EXISTS',
          `Resource '${name.split('/').at(-1)}' already exists.`,
        );
      }
      const t = new Date(now()).toISOString();
      const job: Job = {
        name,
        uid: randomUUID(),
        generation: '1',
        createTime: t,
        updateTime: t,
        launchStage: 'GA',
        template: normalizeTemplate(body.template, policy),
        executionCount: 0,
        reconciling: false,
        etag: randomUUID(),
      };
      const labels = labelsOf(body);
      if (labels) job.labels = labels;
      store.putJob(reconciled(job, t));
      return job;
    },
    updateJob(name, body) {
      const job = mustJob(name);
      job.template = normalizeTemplate(body.template ?? job.template, policy);
      const labels = labelsOf(body);
      if (labels) job.labels = labels;
      job.generation = String(Number(job.generation) + 1);
      job.updateTime = new Date(now()).toISOString();
      job.etag = randomUUID();
      store.putJob(reconciled(job, job.updateTime));
      return job;
    },
    startExecution,
    runJob(jobName, body) {
      const execution = startExecution(jobName, body.overrides);
      const parent = jobName.split('/jobs/')[0] ?? '';
      const name = operations.newName(parent);
      operations.put(name, { kind: 'job-execution', name, execution: execution.name });
      return executionOperation(name, execution);
    },
    getOperation,
    cancelExecution(execution) {
      if (executionDone(execution) || !runner().cancel(execution.name)) {
        throw new ApiError('FAILED_PRECONDITION', `Execution ${execution.name} is not running.`);
      }
    },
    deleteExecution(execution) {
      if (!executionDone(execution)) {
        throw new ApiError(
          'FAILED_PRECONDITION',
          `Execution ${execution.name} is still running; cancel it first.`,
        );
      }
      store.deleteExecution(execution.name);
    },
    async waitOperation(name, signal) {
      const stored = operations.get(name);
      if (stored?.kind === 'job-execution') {
        const done = runner().completion(stored.execution);
        await (signal
          ? Promise.race([
              done,
              new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true })),
            ])
          : done);
      }
      return getOperation(name);
    },
  };
}
