/**
 * Workflows v1 (https://cloud.google.com/workflows/docs/reference/rest/v1/projects.locations.workflows)
 * and Workflow Executions v1
 * (https://cloud.google.com/workflows/docs/reference/executions/rest/v1/projects.locations.workflows.executions)
 * REST surfaces. Deploys check Google's size limits and parse the source first
 * (a syntax error is 400 INVALID_ARGUMENT). Every call, executions.create
 * included, carries local-cloud's token: the router checks it (request-guard.ts).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { coerceError } from '@slideshow/runtime';
import { enumName } from '../enums.ts';
import { ApiError, invalidArgument, notFound } from '../google-error.ts';
import { LIMITS } from '../limits.ts';
import type { Operation, OperationsStore } from '../operations.ts';
import { paginate } from '../paging.ts';
import type { Router } from '../router.ts';
import { parseWorkflow } from '../workflows/index.ts';
import type { ExecutionsRunner } from './executions.ts';
import { validateLabels } from './labels.ts';
import { listExecutionsPage } from './list-executions.ts';
import type { Workflow, WorkflowExecution, WorkflowsStore } from './store.ts';

const WORKFLOW_ID = /^[A-Za-z]([-_A-Za-z0-9]{0,126}[A-Za-z0-9])?$/;
const W = '/v1/projects/{project}/locations/{location}/workflows';
const WORKFLOW_TYPE = 'type.googleapis.com/google.cloud.workflows.v1.Workflow';
const METADATA_TYPE = 'type.googleapis.com/google.cloud.workflows.v1.OperationMetadata';
/** CallLogLevel of Workflow and Execution (workflows.proto, executions.proto), in proto order. */
const CALL_LOG_LEVELS = [
  'CALL_LOG_LEVEL_UNSPECIFIED',
  'LOG_ALL_CALLS',
  'LOG_ERRORS_ONLY',
  'LOG_NONE',
] as const;
const UPDATABLE = [
  'description',
  'labels',
  'serviceAccount',
  'sourceContents',
  'userEnvVars',
  'callLogLevel',
] as const;

/** Dependencies of the Workflows routes. */
export interface WorkflowsRoutesDeps {
  store: WorkflowsStore;
  operations: OperationsStore;
  runner: () => ExecutionsRunner;
  now?: () => number;
}

function validateSource(source: unknown): string {
  if (typeof source !== 'string' || source.trim() === '') {
    throw invalidArgument('sourceContents is required.');
  }
  if (Buffer.byteLength(source) > LIMITS.workflowSourceBytes) {
    throw invalidArgument('sourceContents exceeds the 128KB size limit.');
  }
  try {
    parseWorkflow(source);
  } catch (error) {
    throw invalidArgument(`Workflow is invalid: ${coerceError(error).message}`);
  }
  return source;
}

/**
 * Workflow.user_env_vars: "a maximum length of 20. Each string can take up to
 * 4KiB. Keys cannot be empty strings and cannot start with "GOOGLE" or
 * "WORKFLOWS"" (workflows.proto).
 */
function validateUserEnvVars(value: unknown): void {
  if (value === undefined) return;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidArgument('userEnvVars must be a map of strings.');
  }
  const entries = Object.entries(value);
  if (entries.length > LIMITS.workflowEnvVars) {
    throw invalidArgument(`userEnvVars may hold at most ${LIMITS.workflowEnvVars} variables.`);
  }
  for (const [k, v] of entries) {
    if (k === '' || /^(GOOGLE|WORKFLOWS)/.test(k)) {
      throw invalidArgument(`userEnvVars key ${JSON.stringify(k)} is empty or reserved.`);
    }
    if (typeof v !== 'string') throw invalidArgument(`userEnvVars.${k} must be a string.`);
    if (
      Buffer.byteLength(k) > LIMITS.workflowEnvVarBytes ||
      Buffer.byteLength(v) > LIMITS.workflowEnvVarBytes
    ) {
      throw invalidArgument(`userEnvVars.${k} exceeds 4KiB.`);
    }
  }
}

/** A workflow created by `workflows.create` with id `name`, from the request body. */
function newWorkflow(
  name: string,
  project: string,
  body: Record<string, unknown>,
  revisionId: string,
  now: number,
): Workflow {
  const t = new Date(now).toISOString();
  const workflow: Workflow = {
    name,
    state: 'ACTIVE',
    revisionId,
    createTime: t,
    updateTime: t,
    revisionCreateTime: t,
    serviceAccount:
      typeof body.serviceAccount === 'string'
        ? body.serviceAccount
        : `projects/${project}/serviceAccounts/local@local-cloud`,
    sourceContents: validateSource(body.sourceContents),
  };
  validateUserEnvVars(body.userEnvVars);
  validateLabels(body.labels, 'labels');
  for (const key of ['description', 'labels', 'userEnvVars'] as const) {
    if (body[key] !== undefined) Object.assign(workflow, { [key]: body[key] });
  }
  if (body.callLogLevel !== undefined) {
    workflow.callLogLevel = enumName(CALL_LOG_LEVELS, body.callLogLevel, 'callLogLevel');
  }
  return workflow;
}

/**
 * `workflows.patch`: the fields of `updateMask` (else every updatable field
 * the body holds) taken from the body; a change of source, service account or
 * environment makes a new revision (`revised`).
 */
function patchedWorkflow(
  existing: Workflow,
  body: Record<string, unknown>,
  mask: string | null,
  now: number,
): { updated: Workflow; revised: boolean } {
  const fields = mask
    ? mask.split(',').map((f) => f.trim())
    : UPDATABLE.filter((k) => body[k] !== undefined);
  const updated: Workflow = { ...existing };
  for (const field of fields) {
    if (!(UPDATABLE as readonly string[]).includes(field)) {
      throw invalidArgument(`Field '${field}' cannot be updated.`);
    }
    const value = body[field];
    if (value === undefined) delete (updated as unknown as Record<string, unknown>)[field];
    else Object.assign(updated, { [field]: value });
  }
  updated.sourceContents = validateSource(updated.sourceContents);
  validateUserEnvVars(updated.userEnvVars);
  validateLabels(updated.labels, 'labels');
  if (updated.callLogLevel !== undefined) {
    updated.callLogLevel = enumName(CALL_LOG_LEVELS, updated.callLogLevel, 'callLogLevel');
  }
  updated.updateTime = new Date(now).toISOString();
  const revised = ['sourceContents', 'serviceAccount', 'userEnvVars'].some(
    (k) =>
      JSON.stringify((existing as unknown as Record<string, unknown>)[k]) !==
      JSON.stringify((updated as unknown as Record<string, unknown>)[k]),
  );
  return { updated, revised };
}

/** An execution of `workflow` as `executions.create` starts it, from the request body. */
function newExecution(
  workflow: Workflow,
  body: Record<string, unknown>,
  now: number,
): WorkflowExecution {
  const argument = body.argument ?? 'null';
  if (typeof argument !== 'string') throw invalidArgument('argument must be a JSON string.');
  // "The size limit is 32KB." (Execution.argument in the Executions API reference)
  if (Buffer.byteLength(argument) > LIMITS.executionArgumentBytes) {
    throw invalidArgument('argument exceeds the 32KB size limit.');
  }
  try {
    JSON.parse(argument || 'null');
  } catch (error) {
    throw invalidArgument(`argument is not valid JSON: ${coerceError(error).message}`);
  }
  const created = new Date(now).toISOString();
  const execution: WorkflowExecution = {
    name: `${workflow.name}/executions/${randomUUID()}`,
    // Executions start at once here, so createTime and startTime are the same instant.
    createTime: created,
    startTime: created,
    state: 'ACTIVE',
    argument,
    workflowRevisionId: workflow.revisionId,
    callLogLevel:
      body.callLogLevel === undefined
        ? 'CALL_LOG_LEVEL_UNSPECIFIED'
        : enumName(CALL_LOG_LEVELS, body.callLogLevel, 'callLogLevel'),
    status: { currentSteps: [] },
  };
  // "By default, labels are inherited from the workflow but are overridden by any labels
  // associated with the execution" (Execution.labels, Executions REST reference).
  const labels = { ...(workflow.labels ?? {}), ...validateLabels(body.labels, 'labels') };
  if (Object.keys(labels).length > 0) execution.labels = labels;
  return execution;
}

/** Names and look-ups shared by the workflow and the execution routes. */
interface RouteHelpers {
  now: () => number;
  parentOf(p: Record<string, string>): string;
  workflowName(p: Record<string, string>): string;
  mustWorkflow(name: string): Workflow;
}

/** Registers the Workflows and Executions routes. */
export function registerWorkflowsRoutes(router: Router, deps: WorkflowsRoutesDeps): void {
  const parentOf = (p: Record<string, string>) => `projects/${p.project}/locations/${p.location}`;
  const helpers: RouteHelpers = {
    now: deps.now ?? Date.now,
    parentOf,
    workflowName: (p) => `${parentOf(p)}/workflows/${p.workflow}`,
    mustWorkflow: (name) => {
      const w = deps.store.getWorkflow(name);
      if (!w) throw notFound('Workflow', name);
      return w;
    },
  };
  registerWorkflowResourceRoutes(router, deps, helpers);
  registerExecutionRoutes(router, deps, helpers);
}

/** Locations, operations and the workflows themselves (create, get, list, revisions, patch, delete). */
function registerWorkflowResourceRoutes(
  router: Router,
  deps: WorkflowsRoutesDeps,
  { now, parentOf, workflowName, mustWorkflow }: RouteHelpers,
): void {
  const { store, operations } = deps;
  const nextRevision = (name: string) =>
    `${String(store.revisionCount(name) + 1).padStart(6, '0')}-${randomBytes(2).toString('hex').slice(0, 3)}`;
  const operation = (parent: string, verb: string, workflow: Workflow): { body: Operation } => {
    const name = operations.newName(parent);
    const t = new Date(now()).toISOString();
    const op: Operation = {
      name,
      metadata: {
        '@type': METADATA_TYPE,
        createTime: t,
        endTime: t,
        target: workflow.name,
        verb,
        apiVersion: 'v1',
      },
      done: true,
      response: { '@type': WORKFLOW_TYPE, ...workflow },
    };
    operations.put(name, { kind: 'static', operation: op });
    return { body: op };
  };

  router.add('GET', '/v1/projects/{project}/locations', (req) => ({
    body: {
      locations: [
        { name: `projects/${req.params.project}/locations/us-central1`, locationId: 'us-central1' },
      ],
    },
  }));
  router.add('GET', '/v1/projects/{project}/locations/{location}/operations/{operation}', (req) => {
    const name = `${parentOf(req.params)}/operations/${req.params.operation}`;
    const stored = operations.get(name);
    if (stored?.kind !== 'static') throw notFound('Operation', name);
    return { body: stored.operation };
  });

  router.add('POST', W, (req) => {
    const id = req.query.get('workflowId') ?? '';
    if (!WORKFLOW_ID.test(id)) throw invalidArgument(`Invalid workflowId: ${JSON.stringify(id)}`);
    const name = `${parentOf(req.params)}/workflows/${id}`;
    if (store.getWorkflow(name))
      throw new ApiError('ALREADY_EXISTS', `Resource '${name}' already exists`);
    const workflow = newWorkflow(
      name,
      req.params.project ?? '',
      req.body,
      nextRevision(name),
      now(),
    );
    store.putWorkflow(workflow, true);
    return operation(parentOf(req.params), 'create', workflow);
  });
  router.add('GET', W, (req) => {
    const page = paginate(store.listWorkflows(parentOf(req.params)), req.query);
    return { body: { workflows: page.items, nextPageToken: page.nextPageToken } };
  });
  router.add('GET', `${W}/{workflow}`, (req) => {
    const name = workflowName(req.params);
    const revisionId = req.query.get('revisionId');
    if (revisionId) {
      const revision = store.getRevision(name, revisionId);
      if (!revision) throw notFound('Workflow revision', `${name}@${revisionId}`);
      return { body: revision };
    }
    return { body: mustWorkflow(name) };
  });
  router.add('GET', `${W}/{workflow}:listRevisions`, (req) => {
    const name = workflowName(req.params);
    mustWorkflow(name);
    const page = paginate(store.listRevisions(name), req.query);
    return { body: { workflows: page.items, nextPageToken: page.nextPageToken } };
  });
  router.add('PATCH', `${W}/{workflow}`, (req) => {
    const existing = mustWorkflow(workflowName(req.params));
    const mask = req.query.get('updateMask') ?? req.query.get('update_mask');
    const { updated, revised } = patchedWorkflow(existing, req.body, mask, now());
    if (revised) {
      updated.revisionId = nextRevision(existing.name);
      updated.revisionCreateTime = updated.updateTime;
    }
    store.putWorkflow(updated, revised);
    return operation(parentOf(req.params), 'update', updated);
  });
  router.add('DELETE', `${W}/{workflow}`, (req) => {
    const w = mustWorkflow(workflowName(req.params));
    store.deleteWorkflow(w.name);
    return operation(parentOf(req.params), 'delete', w);
  });
}

/** The Workflow Executions API: create, list, get, cancel. */
function registerExecutionRoutes(
  router: Router,
  deps: WorkflowsRoutesDeps,
  { now, workflowName, mustWorkflow }: RouteHelpers,
): void {
  const { store } = deps;
  const executionView = (e: WorkflowExecution, view: string | null): Partial<WorkflowExecution> => {
    // A running execution reports the step it is in (status.currentSteps), kept in memory.
    const live = e.state === 'ACTIVE' ? deps.runner().currentSteps(e.name) : undefined;
    const shown = live === undefined ? e : { ...e, status: { currentSteps: live } };
    if (view !== 'BASIC' && view !== '1') return shown;
    // ExecutionView BASIC: "The following fields are returned: name, start_time, end_time,
    // duration, state, and workflow_revision_id." (executions.proto)
    const { name, startTime, endTime, duration, state, workflowRevisionId } = shown;
    return { name, startTime, endTime, duration, state, workflowRevisionId };
  };
  const executionName = (p: Record<string, string>) =>
    `${workflowName(p)}/executions/${p.execution}`;

  router.add('POST', `${W}/{workflow}/executions`, (req) => {
    const execution = newExecution(mustWorkflow(workflowName(req.params)), req.body, now());
    store.putExecution(execution);
    deps.runner().launch(execution);
    return { body: execution };
  });
  router.add('GET', `${W}/{workflow}/executions`, (req) => {
    const page = listExecutionsPage(store, workflowName(req.params), req.query);
    const view = req.query.get('view');
    return {
      body: {
        executions: page.executions.map((e) => executionView(e, view ?? 'BASIC')),
        nextPageToken: page.nextPageToken,
      },
    };
  });
  router.add('GET', `${W}/{workflow}/executions/{execution}`, (req) => {
    const name = executionName(req.params);
    const e = store.getExecution(name);
    if (!e) throw notFound('Execution', name);
    return { body: executionView(e, req.query.get('view')) };
  });
  router.add('POST', `${W}/{workflow}/executions/{execution}:cancel`, (req) => {
    const name = executionName(req.params);
    const e = store.getExecution(name);
    if (!e) throw notFound('Execution', name);
    if (e.state !== 'ACTIVE') {
      throw new ApiError(
        'FAILED_PRECONDITION',
        `Execution ${name} is not active (state ${e.state}).`,
      );
    }
    return { body: deps.runner().cancel(e) };
  });
}
