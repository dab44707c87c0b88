/**
 * Cloud Run Admin API v2 jobs REST surface: jobs create/get/list/patch/delete,
 * `jobs:run` with overrides (a long-running operation whose metadata and
 * response are the Execution), executions get/list, and operations get/wait.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, invalidArgument, notFound, RPC_CODE } from '../google-error.ts';
import type { Operation, OperationsStore } from '../operations.ts';
import { pageWindow, paginate } from '../paging.ts';
import type { Router } from '../router.ts';
import { parseDuration } from '../time.ts';
import type { JobPolicy } from './job-policy.ts';
import { applyOverrides, type Execution, type Job, normalizeTemplate } from './model.ts';
import { executionDone, executionSucceeded, type JobRunner } from './runner.ts';
import type { RunStore } from './store.ts';

const JOB_ID = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const J = '/v2/projects/{project}/locations/{location}/jobs';
const JOB_TYPE = 'type.googleapis.com/google.cloud.run.v2.Job';
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

/** The Cloud Run service of local-cloud: used by routes and the Workflows connector. */
export interface RunService {
  /** jobs:run — returns the operation (not done). */
  runJob(jobName: string, body: Record<string, unknown>): Operation;
  /** Reads an operation by name. */
  getOperation(name: string): Operation;
  /** Cancels a running execution; false when it is not running here. */
  cancel(execution: string): boolean;
  /** Waits for the execution behind a job-execution operation. */
  waitOperation(name: string, signal?: AbortSignal): Promise<Operation>;
}

/** Builds the Cloud Run service. */
export function createRunService(
  store: RunStore,
  operations: OperationsStore,
  runner: () => JobRunner,
  policy: JobPolicy,
): RunService {
  const getOperation = (name: string): Operation => {
    const stored = operations.get(name);
    if (!stored) throw notFound('Operation', name);
    if (stored.kind === 'static') return stored.operation;
    const execution = store.getExecution(stored.execution);
    if (!execution) throw notFound('Execution', stored.execution);
    return executionOperation(name, execution);
  };
  return {
    runJob(jobName, body) {
      const job = store.getJob(jobName);
      if (!job) throw notFound('Job', jobName);
      // A job stored before its command line was registered (or since unregistered) cannot run.
      const only = job.template.template.containers[0];
      policy.checkCommand(only?.command ?? [], only?.args ?? [], 'job container');
      const template = applyOverrides(job.template, body.overrides, policy);
      const execution = runner().start(job, template);
      const parent = jobName.split('/jobs/')[0] ?? '';
      const name = operations.newName(parent);
      operations.put(name, { kind: 'job-execution', name, execution: execution.name });
      return executionOperation(name, execution);
    },
    getOperation,
    cancel: (execution) => runner().cancel(execution),
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

/** Registers the Cloud Run v2 routes. */
export function registerRunRoutes(
  router: Router,
  store: RunStore,
  operations: OperationsStore,
  service: RunService,
  policy: JobPolicy,
  now: () => number = Date.now,
): void {
  const parentOf = (p: Record<string, string>) => `projects/${p.project}/locations/${p.location}`;
  const jobName = (p: Record<string, string>) => `${parentOf(p)}/jobs/${p.job}`;
  const mustJob = (name: string): Job => {
    const job = store.getJob(name);
    if (!job) throw notFound('Job', name);
    return job;
  };
  const doneOperation = (
    parent: string,
    response: Record<string, unknown>,
  ): { body: Operation } => {
    const name = operations.newName(parent);
    const operation: Operation = {
      name,
      metadata: { '@type': JOB_TYPE, ...response },
      done: true,
      response: { '@type': JOB_TYPE, ...response },
    };
    operations.put(name, { kind: 'static', operation });
    return { body: operation };
  };
  const createJob = (name: string, body: Record<string, unknown>): Job => {
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
    if (body.labels && typeof body.labels === 'object')
      job.labels = body.labels as Record<string, string>;
    store.putJob(job);
    return job;
  };

  router.add('POST', J, (req) => {
    const jobId = req.query.get('jobId') ?? '';
    if (!JOB_ID.test(jobId)) throw invalidArgument(`Invalid jobId: ${JSON.stringify(jobId)}`);
    const name = `${parentOf(req.params)}/jobs/${jobId}`;
    if (store.getJob(name))
      throw new ApiError('ALREADY_EXISTS', `Resource '${jobId}' already exists.`);
    const job = createJob(name, req.body);
    return doneOperation(parentOf(req.params), { ...job });
  });
  router.add('GET', J, (req) => {
    const page = paginate(store.listJobs(parentOf(req.params)), req.query);
    return { body: { jobs: page.items, nextPageToken: page.nextPageToken } };
  });
  router.add('GET', `${J}/{job}`, (req) => ({ body: mustJob(jobName(req.params)) }));
  router.add('PATCH', `${J}/{job}`, (req) => {
    const name = jobName(req.params);
    const existing = store.getJob(name);
    if (!existing) {
      if (req.query.get('allowMissing') !== 'true') throw notFound('Job', name);
      return doneOperation(parentOf(req.params), { ...createJob(name, req.body) });
    }
    existing.template = normalizeTemplate(req.body.template ?? existing.template, policy);
    existing.generation = String(Number(existing.generation) + 1);
    existing.updateTime = new Date(now()).toISOString();
    existing.etag = randomUUID();
    store.putJob(existing);
    return doneOperation(parentOf(req.params), { ...existing });
  });
  router.add('DELETE', `${J}/{job}`, (req) => {
    const job = mustJob(jobName(req.params));
    store.deleteJob(job.name);
    return doneOperation(parentOf(req.params), { ...job });
  });
  router.add('POST', `${J}/{job}:run`, (req) => ({
    body: service.runJob(jobName(req.params), req.body),
  }));
  router.add('GET', `${J}/{job}/executions`, (req) => {
    const job = mustJob(jobName(req.params));
    const page = paginate(store.listExecutions(job.name), req.query);
    return { body: { executions: page.items, nextPageToken: page.nextPageToken } };
  });
  router.add('GET', `${J}/{job}/executions/{execution}`, (req) => {
    const name = `${jobName(req.params)}/executions/${req.params.execution}`;
    const execution = store.getExecution(name);
    if (!execution) throw notFound('Execution', name);
    return { body: execution };
  });
  const mustExecution = (p: Record<string, string>): Execution => {
    const name = `${jobName(p)}/executions/${p.execution}`;
    const execution = store.getExecution(name);
    if (!execution) throw notFound('Execution', name);
    return execution;
  };
  // Cloud Run v2 Task resources (executions.tasks list/get): one per task
  // index, with `retried` = attempts after the first, so callers can see how
  // often Cloud Run retried a task (Execution.retriedCount counts tasks).
  const taskView = (
    execution: Execution,
    index: number,
    attempts: ReturnType<RunStore['attempts']>,
  ) => {
    const last = attempts.at(-1);
    const id = `${execution.name.split('/').at(-1)}-task${index}`;
    const task: Record<string, unknown> = {
      name: `${execution.name}/tasks/${id}`,
      job: execution.name.split('/executions/')[0],
      execution: execution.name,
      index,
      retried: Math.max(0, attempts.length - 1),
      maxRetries: execution.template.maxRetries,
    };
    if (last?.start_ms) task.startTime = new Date(last.start_ms).toISOString();
    if (last?.end_ms) task.completionTime = new Date(last.end_ms).toISOString();
    if (last && last.state !== 'running') {
      task.lastAttemptResult = {
        exitCode: last.exit_code ?? 0,
        status: { code: last.state === 'succeeded' ? 0 : 2, message: last.message ?? '' },
      };
    }
    return task;
  };
  router.add('GET', `${J}/{job}/executions/{execution}/tasks`, (req) => {
    const execution = mustExecution(req.params);
    // Only the page's tasks and their attempts are read, whatever the taskCount.
    const page = pageWindow(execution.taskCount, req.query);
    const byTask = new Map<number, ReturnType<RunStore['attempts']>>();
    for (const row of store.attemptsOfTasks(execution.name, page.start, page.end)) {
      byTask.set(row.task_index, [...(byTask.get(row.task_index) ?? []), row]);
    }
    const tasks = [];
    for (let index = page.start; index < page.end; index++) {
      tasks.push(taskView(execution, index, byTask.get(index) ?? []));
    }
    return { body: { tasks, nextPageToken: page.nextPageToken } };
  });
  router.add('POST', `${J}/{job}/executions/{execution}:cancel`, (req) => {
    const execution = mustExecution(req.params);
    if (executionDone(execution) || !service.cancel(execution.name)) {
      throw new ApiError('FAILED_PRECONDITION', `Execution ${execution.name} is not running.`);
    }
    const name = operations.newName(parentOf(req.params));
    operations.put(name, { kind: 'job-execution', name, execution: execution.name });
    return { body: executionOperation(name, execution) };
  });
  router.add('DELETE', `${J}/{job}/executions/{execution}`, (req) => {
    const execution = mustExecution(req.params);
    if (!executionDone(execution)) {
      throw new ApiError(
        'FAILED_PRECONDITION',
        `Execution ${execution.name} is still running; cancel it first.`,
      );
    }
    store.deleteExecution(execution.name);
    const name = operations.newName(parentOf(req.params));
    const operation: Operation = {
      name,
      metadata: { '@type': EXECUTION_TYPE, ...execution },
      done: true,
      response: { '@type': EXECUTION_TYPE, ...execution },
    };
    operations.put(name, { kind: 'static', operation });
    return { body: operation };
  });
  const opName = (p: Record<string, string>) => `${parentOf(p)}/operations/${p.operation}`;
  router.add(
    'GET',
    '/v2/projects/{project}/locations/{location}/operations/{operation}',
    (req) => ({
      body: service.getOperation(opName(req.params)),
    }),
  );
  router.add(
    'POST',
    '/v2/projects/{project}/locations/{location}/operations/{operation}:wait',
    async (req) => {
      const timeoutMs =
        req.body.timeout === undefined ? 60_000 : parseDuration(req.body.timeout, 'timeout');
      const signal = AbortSignal.timeout(timeoutMs);
      const op = await service.waitOperation(opName(req.params), signal);
      if (!op.done) await sleep(0);
      return { body: op };
    },
  );
}
