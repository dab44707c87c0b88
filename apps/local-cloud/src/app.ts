/**
 * The local-cloud application, assembled from its parts. `createLocalCloud`
 * is pure: it wires stores, policies and routes over the given database;
 * `start()` begins the background work (task scheduler, resumed executions
 * and job runs) and `stop()` ends it, leaving every unfinished piece of work
 * persisted. Every request passes the request guard (loopback Host, no web
 * page, local-cloud's token) inside the router.
 */
import { coerceError, type Logger } from '@slideshow/runtime';
import type { Db } from './db.ts';
import {
  createHistoryPruner,
  HISTORY_RETENTION_MS,
  type HistorySweep,
  type Pruned,
  startHistorySweep,
} from './history.ts';
import { createOperationsStore, type OperationsStore } from './operations.ts';
import { createOutboundPolicy } from './outbound-policy.ts';
import { refusal } from './request-guard.ts';
import { createRouter, type RawRequest, type RawResponse, type Router } from './router.ts';
import {
  type ConnectorCalls,
  createConnectorCalls,
  createJobsRunConnector,
} from './run/connector.ts';
import { createJobPolicy, type JobPolicy, type PinnedValue } from './run/job-policy.ts';
import { registerRunRoutes } from './run/routes.ts';
import { createJobRunner, type JobRunner } from './run/runner.ts';
import { createRunService, type RunService } from './run/service.ts';
import { createRunStore, type RunStore } from './run/store.ts';
import { registerRunV1Routes } from './run/v1-routes.ts';
import { startTaskScheduler, type TaskScheduler } from './tasks/dispatcher.ts';
import { TASKS_RULES, type TasksRules } from './tasks/model.ts';
import { registerTasksRoutes } from './tasks/routes.ts';
import { createTasksStore } from './tasks/store.ts';
import type { ConnectorHandler } from './workflows/index.ts';
import { createApiConnectors } from './workflows-api/connectors.ts';
import { createExecutionsRunner, type ExecutionsRunner } from './workflows-api/executions.ts';
import { registerWorkflowsRoutes } from './workflows-api/routes.ts';
import { createWorkflowsStore } from './workflows-api/store.ts';

/** Everything local-cloud needs, built by the composition root. */
export interface LocalCloudDeps {
  db: Db;
  logger: Logger;
  /**
   * local-cloud's token: every API call must carry it as `Authorization:
   * Bearer`, and it stands in for Google OAuth access tokens (tasks with
   * `oauthToken`, workflow calls with `auth: OAuth2`).
   */
  oauthToken: string;
  /** Appended to 401 messages, e.g. where the token file is. */
  tokenHint?: string;
  /** Bearer token standing in for Google OIDC ID tokens (the stack's callback secret). */
  oidcToken: string;
  /** Working directory of job task processes. */
  workdir: string;
  /** SIGTERM → SIGKILL delay for timed-out job tasks (Cloud Run: 10 s). */
  killGraceMs: number;
  /** Most job task processes at once across executions (0 or absent: no limit). */
  maxRunningTasks?: number;
  /** Host environment job children inherit PATH/HOME/TMPDIR/LANG/TZ from. */
  hostEnv: Record<string, string | undefined>;
  /** Cloud Tasks periods and defaults (Google's unless a test shortens them). */
  tasksRules?: Partial<TasksRules>;
  /** Command lines (command + args) jobs may run; nothing else runs. */
  jobCommands?: readonly (readonly string[])[];
  /** Secret name → file holding its value, for env `valueSource.secretKeyRef`. */
  secretFiles?: Readonly<Record<string, string>>;
  /** Variables every job must set to these values (a literal or a registered secret). */
  jobPinnedEnv?: Readonly<Record<string, PinnedValue>>;
  /** Hosts tasks and workflow calls may reach besides loopback (`name`, `name:port` or `*`). */
  outboundHosts?: readonly string[];
  /** The port local-cloud listens on: the only target the OAuth token is sent to. */
  selfPort?: number;
  /** Finished executions older than this are pruned (history.ts; default 7 days, 0 keeps all). */
  historyRetentionMs?: number;
  now?: () => number;
}

/** A built, not yet started, local-cloud. */
export interface LocalCloud {
  /** Handles one HTTP request (web standard Request/Response). */
  fetch(request: Request): Promise<Response>;
  /** Handles one request handed over by node:http (the server's fast path). */
  handleRaw(request: RawRequest): Promise<RawResponse>;
  /** Starts background work: task dispatch, resumed executions and job runs. */
  start(): void;
  /** Stops background work and waits for it; state stays in the database. */
  stop(): Promise<void>;
  /** Resolves when a workflow execution started by this process has finished (tests). */
  executionFinished(name: string): Promise<void>;
  /** Prunes finished history past the retention period now, as the periodic sweep does (tests). */
  sweepHistory(): Promise<Pruned>;
}

/** Assembles local-cloud over its dependencies. */
export function createLocalCloud(deps: LocalCloudDeps): LocalCloud {
  const now = deps.now ?? Date.now;
  const log = deps.logger;
  const guard = { token: deps.oauthToken, ...(deps.tokenHint ? { hint: deps.tokenHint } : {}) };
  const router = createRouter(log.child({ component: 'api' }), (headers, target) =>
    refusal(headers, guard, target),
  );
  const corrupt = (what: string) => reportSetAside(log, what);
  const tasksRules: TasksRules = { ...TASKS_RULES, ...deps.tasksRules };
  const tasksStore = createTasksStore(deps.db, tasksRules, corrupt('task'));
  const operations = createOperationsStore(deps.db);
  const runStore = createRunStore(deps.db);
  const workflowsStore = createWorkflowsStore(deps.db, corrupt('workflow execution'));
  const outbound = createOutboundPolicy({
    allowedHosts: deps.outboundHosts ?? [],
    selfPort: () => deps.selfPort,
  });
  const jobPolicy = createJobPolicy({
    commands: deps.jobCommands ?? [],
    secretFiles: deps.secretFiles ?? {},
    pinnedEnv: deps.jobPinnedEnv ?? {},
    logger: log.child({ component: 'cloud-run' }),
  });
  const connectorCalls = createConnectorCalls(deps.db);

  let dispatcher: TaskScheduler | undefined;
  const noDispatcher: TaskScheduler = {
    kick() {},
    runNow: () => undefined,
    async stop() {},
    inFlight: () => 0,
  };
  const { jobRunner, runService } = createCloudRun(deps, runStore, operations, jobPolicy, now);
  const executions: ExecutionsRunner = createExecutionsRunner({
    store: workflowsStore,
    logger: log.child({ component: 'workflows' }),
    oauthToken: deps.oauthToken,
    oidcToken: deps.oidcToken,
    outbound,
    connectorsFor: (execution) =>
      executionConnectors(execution, {
        runService,
        connectorCalls,
        router,
        oauthToken: deps.oauthToken,
        executions: () => executions,
      }),
    now,
  });

  registerTasksRoutes(router, {
    store: tasksStore,
    dispatcher: () => dispatcher ?? noDispatcher,
    outbound,
    rules: tasksRules,
    now,
  });
  registerWorkflowsRoutes(router, {
    store: workflowsStore,
    operations,
    runner: () => executions,
    now,
  });
  registerRunRoutes(router, runStore, operations, runService);
  registerRunV1Routes(router, runStore, runService);

  let started = false;
  const history = historySweeper(deps, now, log);
  return {
    fetch: (request) => router.handle(request),
    handleRaw: (request) => router.handleRaw(request),
    start() {
      if (started) return;
      started = true;
      jobRunner.resumeUnfinished();
      executions.resumeActive();
      dispatcher = startTaskScheduler({
        store: tasksStore,
        logger: log.child({ component: 'cloud-tasks' }),
        oauthToken: deps.oauthToken,
        oidcToken: deps.oidcToken,
        outbound,
        now,
      });
      history.start();
    },
    async stop() {
      // Stop taking work in, then stop what runs: executions first (they wait on jobs).
      await Promise.all([dispatcher?.stop(), history.stop()]);
      dispatcher = undefined;
      await Promise.all([executions.stop(), jobRunner.stop()]);
    },
    executionFinished: (name) => executions.completion(name),
    sweepHistory: () => history.sweep(),
  };
}

/** The history sweep (history.ts), started and stopped with the rest of the background work. */
function historySweeper(
  deps: LocalCloudDeps,
  now: () => number,
  log: Logger,
): { start(): void; stop(): Promise<void>; sweep(): Promise<Pruned> } {
  let running: HistorySweep | undefined;
  return {
    start() {
      running = startHistorySweep({
        pruner: createHistoryPruner(deps.db),
        retentionMs: deps.historyRetentionMs ?? HISTORY_RETENTION_MS,
        now,
        logger: log.child({ component: 'history' }),
      });
    },
    async stop() {
      await running?.stop();
      running = undefined;
    },
    sweep: () => running?.sweep() ?? Promise.resolve({ executions: 0, jobExecutions: 0 }),
  };
}

/** Logs a stored row (`what`) that could not be read and was set aside. */
function reportSetAside(log: Logger, what: string): (name: string, error: unknown) => void {
  return (name, error) =>
    log.error(`a stored ${what} could not be read; it was set aside`, {
      name,
      error: coerceError(error).message,
    });
}

/**
 * The connectors a workflow execution may call: Cloud Run's `jobs.run` (an
 * operation already started is joined after a restart, not repeated) and the
 * Workflows API connectors, served by this process's own router.
 */
function executionConnectors(
  execution: string,
  parts: {
    runService: RunService;
    connectorCalls: ConnectorCalls;
    router: Router;
    oauthToken: string;
    executions: () => ExecutionsRunner;
  },
): Record<string, ConnectorHandler> {
  return {
    'googleapis.run.v2.projects.locations.jobs.run': createJobsRunConnector(
      parts.runService,
      parts.connectorCalls,
      execution,
    ),
    ...createApiConnectors({
      handle: (request) => parts.router.handleRaw(request),
      oauthToken: parts.oauthToken,
      waitForExecution: (name) => parts.executions().completion(name),
      project: execution.split('/')[1] ?? '',
      location: execution.split('/')[3] ?? '',
    }),
  };
}

/** Cloud Run: the job runner and the service the v1 and v2 routes and the jobs.run connector share. */
function createCloudRun(
  deps: LocalCloudDeps,
  store: RunStore,
  operations: OperationsStore,
  policy: JobPolicy,
  now: () => number,
): { jobRunner: JobRunner; runService: RunService } {
  const jobRunner = createJobRunner({
    store,
    logger: deps.logger.child({ component: 'cloud-run' }),
    workdir: deps.workdir,
    killGraceMs: deps.killGraceMs,
    hostEnv: deps.hostEnv,
    maxRunningTasks: deps.maxRunningTasks ?? 0,
    policy,
    now,
  });
  const runService = createRunService({ store, operations, runner: () => jobRunner, policy, now });
  return { jobRunner, runService };
}
