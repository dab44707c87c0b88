/**
 * Cloud Run Admin API v1 routes for jobs, executions and tasks
 * (`/apis/run.googleapis.com/v1/namespaces/{project}/…`,
 * https://cloud.google.com/run/docs/reference/rest/v1/namespaces.jobs and
 * siblings): the surface `gcloud run jobs` uses (api_lib/run/global_methods.py
 * pins SERVERLESS_API_VERSION = 'v1'). The location is not in the path: it is
 * the region gcloud puts in front of the host (`us-central1-localhost`,
 * regional-host.ts); on the bare host (what `gcloud run jobs list` calls
 * without `--region`) reads span every location and writes are refused.
 *
 * The v2 model is the only one stored: requests are translated into the
 * service's calls (service.ts) and answers into v1 resources (v1-resources.ts),
 * so a job created or run through either API is the same job.
 */
import { ApiError, invalidArgument } from '../google-error.ts';
import { hostHeaderHostname } from '../loopback.ts';
import { type Page, pageSizeOf, paginate, seqPage } from '../paging.ts';
import { regionOfHostname } from '../regional-host.ts';
import type { ApiRequest, ApiResponse, Router } from '../router.ts';
import { parseLabelSelector, requiredValue } from './label-selector.ts';
import type { Execution, Job } from './model.ts';
import type { RunService } from './service.ts';
import type { AttemptRow, RunStore } from './store.ts';
import { runningState, taskIndexOf, taskResource } from './task-view.ts';
import {
  LABEL,
  V1_API_VERSION,
  v1Execution,
  v1Job,
  v1Task,
  v2JobBody,
  v2Overrides,
} from './v1-resources.ts';

const V1 = '/apis/run.googleapis.com/v1/namespaces/{namespace}';
/** Project ids (and numbers); also keeps LIKE patterns built from them literal. */
const NAMESPACE = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** Job ids: DNS labels, as v2 jobId. */
const JOB_ID = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
/**
 * Execution (`<job>-<5 of [a-z0-9]>`) and task (`<execution>-task<index>`) ids: longer
 * than a job id, same characters — which also keeps the LIKE patterns built
 * from them literal (no `%`, no `_`).
 */
const RUN_ID = /^[a-z][-a-z0-9]{0,127}$/;

/** Which project and location a request is about. */
interface Scope {
  project: string;
  /** From the regional host; undefined on the bare (global) host. */
  location?: string;
  /** `projects/P/locations/L`, or `projects/P/locations/%` (a LIKE pattern) without a location. */
  parent: string;
}

function scopeOf(req: ApiRequest): Scope {
  const project = req.params.namespace ?? '';
  if (!NAMESPACE.test(project)) {
    throw new ApiError('NOT_FOUND', `Namespace ${JSON.stringify(project)} does not exist.`);
  }
  const hostname = hostHeaderHostname(req.authority);
  const location = hostname === undefined ? undefined : regionOfHostname(hostname);
  return location === undefined
    ? { project, parent: `projects/${project}/locations/%` }
    : { project, location, parent: `projects/${project}/locations/${location}` };
}

/** Google's v1 wording for a missing resource. */
function missing(scope: Scope, kind: string, id: string): ApiError {
  const where = scope.location ? ` in region '${scope.location}'` : '';
  return new ApiError(
    'NOT_FOUND',
    `Resource '${id}' of kind '${kind}'${where} in project '${scope.project}' does not exist.`,
  );
}

/** The regional parent; writes need one. */
function regional(scope: Scope, what: string): string {
  if (scope.location === undefined) {
    throw invalidArgument(
      `${what} needs a region: call the regional endpoint (gcloud --region; host <region>-localhost).`,
    );
  }
  return scope.parent;
}

/** A v1 request's paging (`limit`, `continue`: v1 ListMeta) as `pageSize` and `pageToken`. */
function v1Paging(query: URLSearchParams): URLSearchParams {
  const paging = new URLSearchParams();
  const limit = query.get('limit');
  const token = query.get('continue');
  if (limit) paging.set('pageSize', limit);
  if (token) paging.set('pageToken', token);
  return paging;
}

/** A v1 list answer of one page (its token as v1 ListMeta `continue`). */
function listOf(kind: string, page: Page<unknown>): ApiResponse {
  return {
    body: {
      apiVersion: V1_API_VERSION,
      kind,
      metadata: page.nextPageToken ? { continue: page.nextPageToken } : {},
      items: page.items,
    },
  };
}

/** A v1 Status for a deletion. */
function deleted(kind: string, name: string, uid: string): ApiResponse {
  return {
    body: { status: 'Success', details: { name, group: 'run.googleapis.com', kind, uid } },
  };
}

function labelsOf(resource: Record<string, unknown>): Record<string, string> {
  return (resource.metadata as { labels?: Record<string, string> }).labels ?? {};
}

/** The job `id` in scope (by name with a region, else by id across locations). */
function findJob(store: RunStore, scope: Scope, id: string): Job {
  const job = JOB_ID.test(id)
    ? scope.location
      ? store.getJob(`${scope.parent}/jobs/${id}`)
      : store.listJobs(scope.parent).find((j) => j.name.split('/').at(-1) === id)
    : undefined;
  if (!job) throw missing(scope, 'JOB', id);
  return job;
}

/** The execution `id` in scope. */
function findExecution(store: RunStore, scope: Scope, id: string): Execution {
  const execution = RUN_ID.test(id) ? store.findExecution(scope.parent, id) : undefined;
  if (!execution) throw missing(scope, 'EXECUTION', id);
  return execution;
}

/** Every attempt of an execution, grouped by task index. */
function attemptsByTask(store: RunStore, execution: Execution): Map<number, AttemptRow[]> {
  const byTask = new Map<number, AttemptRow[]>();
  for (const row of store.attemptsOfTasks(execution.name, 0, execution.taskCount)) {
    byTask.set(row.task_index, [...(byTask.get(row.task_index) ?? []), row]);
  }
  return byTask;
}

/** A task as v1 shows it, from its attempts. */
function v1TaskOf(
  execution: Execution,
  index: number,
  attempts: AttemptRow[],
): ReturnType<typeof v1Task> {
  return v1Task(
    execution,
    taskResource(execution, index, attempts),
    runningState(execution, attempts),
  );
}

/** Registers the v1 routes over the same store and service as the v2 ones. */
export function registerRunV1Routes(router: Router, store: RunStore, service: RunService): void {
  registerV1JobRoutes(router, store, service);
  registerV1ExecutionRoutes(router, store, service);
  registerV1TaskRoutes(router, store);
}

/** Jobs: list (with a label selector), create, get, replace, delete, run. */
function registerV1JobRoutes(router: Router, store: RunStore, service: RunService): void {
  router.add('GET', `${V1}/jobs`, (req) => {
    const scope = scopeOf(req);
    const selector = parseLabelSelector(req.query.get('labelSelector'));
    const items = store
      .listJobs(scope.parent)
      .map(v1Job)
      .filter((j) => selector(labelsOf(j)));
    return listOf('JobsList', paginate(items, v1Paging(req.query)));
  });
  router.add('POST', `${V1}/jobs`, (req) => {
    const scope = scopeOf(req);
    const parent = regional(scope, 'Creating a job');
    const id = String((req.body.metadata as { name?: unknown } | undefined)?.name ?? '');
    if (!JOB_ID.test(id)) throw invalidArgument(`Invalid job name: ${JSON.stringify(id)}`);
    return { body: v1Job(service.createJob(`${parent}/jobs/${id}`, v2JobBody(req.body))) };
  });
  router.add('GET', `${V1}/jobs/{job}`, (req) => ({
    body: v1Job(findJob(store, scopeOf(req), req.params.job ?? '')),
  }));
  router.add('PUT', `${V1}/jobs/{job}`, (req) => {
    const scope = scopeOf(req);
    regional(scope, 'Replacing a job');
    const job = findJob(store, scope, req.params.job ?? '');
    return { body: v1Job(service.updateJob(job.name, v2JobBody(req.body))) };
  });
  router.add('DELETE', `${V1}/jobs/{job}`, (req) => {
    const scope = scopeOf(req);
    regional(scope, 'Deleting a job');
    const job = findJob(store, scope, req.params.job ?? '');
    store.deleteJob(job.name);
    return deleted('jobs', req.params.job ?? '', job.uid);
  });
  router.add('POST', `${V1}/jobs/{job}:run`, (req) => {
    const scope = scopeOf(req);
    regional(scope, 'Running a job');
    const job = findJob(store, scope, req.params.job ?? '');
    return { body: v1Execution(service.startExecution(job.name, v2Overrides(req.body.overrides))) };
  });
}

/** Executions: list (one job's, or every one in scope), get, cancel, delete. */
function registerV1ExecutionRoutes(router: Router, store: RunStore, service: RunService): void {
  router.add('GET', `${V1}/executions`, (req) => {
    const scope = scopeOf(req);
    const text = req.query.get('labelSelector');
    const selector = parseLabelSelector(text);
    const jobId = requiredValue(text, LABEL.job);
    // One job's executions are read on their own; otherwise every execution in scope.
    const of =
      jobId !== undefined && scope.location !== undefined && JOB_ID.test(jobId)
        ? { job: `${scope.parent}/jobs/${jobId}` }
        : { under: scope.parent };
    const paging = v1Paging(req.query);
    const page = seqPage(
      (before, limit) =>
        store
          .pageExecutions(of, before, limit)
          .map((r) => ({ item: v1Execution(r.item), cursor: r.cursor })),
      pageSizeOf(paging),
      paging.get('pageToken') ?? '',
      (e) => selector(labelsOf(e)),
    );
    return listOf('ExecutionsList', page);
  });
  router.add('GET', `${V1}/executions/{execution}`, (req) => ({
    body: v1Execution(findExecution(store, scopeOf(req), req.params.execution ?? '')),
  }));
  router.add('POST', `${V1}/executions/{execution}:cancel`, (req) => {
    const scope = scopeOf(req);
    regional(scope, 'Cancelling an execution');
    const execution = findExecution(store, scope, req.params.execution ?? '');
    service.cancelExecution(execution);
    return { body: v1Execution(store.getExecution(execution.name) ?? execution) };
  });
  router.add('DELETE', `${V1}/executions/{execution}`, (req) => {
    const scope = scopeOf(req);
    regional(scope, 'Deleting an execution');
    const execution = findExecution(store, scope, req.params.execution ?? '');
    service.deleteExecution(execution);
    return deleted('executions', req.params.execution ?? '', execution.uid);
  });
}

/** Tasks: list (of one execution), get. */
function registerV1TaskRoutes(router: Router, store: RunStore): void {
  router.add('GET', `${V1}/tasks`, (req) => {
    const scope = scopeOf(req);
    const text = req.query.get('labelSelector');
    const executionId = requiredValue(text, LABEL.execution);
    if (executionId === undefined) {
      throw invalidArgument(
        `local-cloud lists the tasks of one execution: give labelSelector "${LABEL.execution} = EXECUTION" (gcloud run jobs executions tasks list --execution).`,
      );
    }
    const execution = findExecution(store, scope, executionId);
    const selector = parseLabelSelector(text);
    const byTask = attemptsByTask(store, execution);
    const items = [];
    for (let index = 0; index < execution.taskCount; index++) {
      const task = v1TaskOf(execution, index, byTask.get(index) ?? []);
      if (selector(labelsOf(task))) items.push(task);
    }
    return listOf('TasksList', paginate(items, v1Paging(req.query)));
  });
  router.add('GET', `${V1}/tasks/{task}`, (req) => {
    const scope = scopeOf(req);
    const id = req.params.task ?? '';
    const m = /^(.+)-task\d+$/.exec(id);
    const execution = m?.[1] === undefined ? undefined : findExecution(store, scope, m[1]);
    const index = execution === undefined ? undefined : taskIndexOf(execution, id);
    if (execution === undefined || index === undefined) throw missing(scope, 'TASK', id);
    const attempts = store.attemptsOfTasks(execution.name, index, index + 1);
    return { body: v1TaskOf(execution, index, attempts) };
  });
}
