/**
 * Cloud Run Admin API v2 jobs REST surface: jobs create/get/list/patch/delete,
 * `jobs:run` with overrides (a long-running operation whose metadata and
 * response are the Execution), executions get/list/delete/cancel, their
 * tasks list/get, and operations get/wait. The work is the service's
 * (service.ts); v1-routes.ts serves the same jobs to gcloud.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { invalidArgument, notFound } from '../google-error.ts';
import type { Operation, OperationsStore } from '../operations.ts';
import { pageSizeOf, pageWindow, paginate, seqPage } from '../paging.ts';
import type { Router } from '../router.ts';
import { parseDuration } from '../time.ts';
import type { Execution, Job } from './model.ts';
import { executionOperation, type RunService } from './service.ts';
import type { RunStore } from './store.ts';
import { taskIndexOf, taskResource } from './task-view.ts';

const JOB_ID = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const J = '/v2/projects/{project}/locations/{location}/jobs';
const JOB_TYPE = 'type.googleapis.com/google.cloud.run.v2.Job';
const EXECUTION_TYPE = 'type.googleapis.com/google.cloud.run.v2.Execution';

/** Names and look-ups shared by the v2 route groups. */
interface RunRouteHelpers {
  parentOf(p: Record<string, string>): string;
  jobName(p: Record<string, string>): string;
  mustJob(name: string): Job;
}

/** Registers the Cloud Run v2 routes. */
export function registerRunRoutes(
  router: Router,
  store: RunStore,
  operations: OperationsStore,
  service: RunService,
): void {
  const parentOf = (p: Record<string, string>) => `projects/${p.project}/locations/${p.location}`;
  const helpers: RunRouteHelpers = {
    parentOf,
    jobName: (p) => `${parentOf(p)}/jobs/${p.job}`,
    mustJob: (name) => {
      const job = store.getJob(name);
      if (!job) throw notFound('Job', name);
      return job;
    },
  };
  registerJobRoutes(router, store, operations, service, helpers);
  registerExecutionRoutes(router, store, operations, service, helpers);
  registerOperationRoutes(router, service, parentOf);
}

/** Jobs: create, list, get, patch (allowMissing creates), delete, run. */
function registerJobRoutes(
  router: Router,
  store: RunStore,
  operations: OperationsStore,
  service: RunService,
  { parentOf, jobName, mustJob }: RunRouteHelpers,
): void {
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
  router.add('POST', J, (req) => {
    const jobId = req.query.get('jobId') ?? '';
    if (!JOB_ID.test(jobId)) throw invalidArgument(`Invalid jobId: ${JSON.stringify(jobId)}`);
    const job = service.createJob(`${parentOf(req.params)}/jobs/${jobId}`, req.body);
    return doneOperation(parentOf(req.params), { ...job });
  });
  router.add('GET', J, (req) => {
    const page = paginate(store.listJobs(parentOf(req.params)), req.query);
    return { body: { jobs: page.items, nextPageToken: page.nextPageToken } };
  });
  router.add('GET', `${J}/{job}`, (req) => ({ body: mustJob(jobName(req.params)) }));
  router.add('PATCH', `${J}/{job}`, (req) => {
    const name = jobName(req.params);
    if (!store.getJob(name)) {
      if (req.query.get('allowMissing') !== 'true') throw notFound('Job', name);
      return doneOperation(parentOf(req.params), { ...service.createJob(name, req.body) });
    }
    return doneOperation(parentOf(req.params), { ...service.updateJob(name, req.body) });
  });
  router.add('DELETE', `${J}/{job}`, (req) => {
    const job = mustJob(jobName(req.params));
    store.deleteJob(job.name);
    return doneOperation(parentOf(req.params), { ...job });
  });
  router.add('POST', `${J}/{job}:run`, (req) => ({
    body: service.runJob(jobName(req.params), req.body),
  }));
}

/** A job's executions (list, get, cancel, delete) and their tasks (list, get). */
function registerExecutionRoutes(
  router: Router,
  store: RunStore,
  operations: OperationsStore,
  service: RunService,
  { parentOf, jobName, mustJob }: RunRouteHelpers,
): void {
  router.add('GET', `${J}/{job}/executions`, (req) => {
    const job = mustJob(jobName(req.params));
    const page = seqPage(
      (before, limit) => store.pageExecutions({ job: job.name }, before, limit),
      pageSizeOf(req.query),
      req.query.get('pageToken') ?? req.query.get('page_token') ?? '',
    );
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
  // Cloud Run v2 Task resources (executions.tasks list/get, task-view.ts): one
  // per task index, built from its attempts, with `retried` = attempts after
  // the first (Execution.retriedCount counts tasks).
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
      tasks.push(taskResource(execution, index, byTask.get(index) ?? []));
    }
    return { body: { tasks, nextPageToken: page.nextPageToken } };
  });
  router.add('GET', `${J}/{job}/executions/{execution}/tasks/{task}`, (req) => {
    const execution = mustExecution(req.params);
    const index = taskIndexOf(execution, req.params.task ?? '');
    if (index === undefined) throw notFound('Task', `${execution.name}/tasks/${req.params.task}`);
    const attempts = store.attemptsOfTasks(execution.name, index, index + 1);
    return { body: taskResource(execution, index, attempts) };
  });
  router.add('POST', `${J}/{job}/executions/{execution}:cancel`, (req) => {
    const execution = mustExecution(req.params);
    service.cancelExecution(execution);
    const name = operations.newName(parentOf(req.params));
    operations.put(name, { kind: 'job-execution', name, execution: execution.name });
    return { body: executionOperation(name, execution) };
  });
  router.add('DELETE', `${J}/{job}/executions/{execution}`, (req) => {
    const execution = mustExecution(req.params);
    service.deleteExecution(execution);
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
}

/** Operations: get and wait. */
function registerOperationRoutes(
  router: Router,
  service: RunService,
  parentOf: (p: Record<string, string>) => string,
): void {
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
