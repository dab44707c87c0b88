/**
 * Runs workflow executions with the Workflows-language engine. Each execution
 * gets the documented built-in env vars plus the workflow's userEnvVars, an
 * HTTP transport that turns `auth` into the stack's local bearer tokens, and
 * the local connectors. Deviation from Google: after a restart an ACTIVE
 * execution runs again from its first step (Google resumes it); the pipeline's
 * steps are idempotent, so a re-run is safe, and connector calls already made
 * are joined rather than repeated (see run/connector.ts). Each run is recorded
 * before it starts and forgotten once it ends or a stop aborts it, so an
 * execution whose runs keep ending with the process itself (a crash, a kill)
 * is set aside instead of being run again at every start.
 */
import { coerceError, type Logger } from '@slideshow/runtime';
import { argumentImageFields, argumentTextImageFields } from '../image-log-fields.ts';
import type { OutboundPolicy } from '../outbound-policy.ts';
import { formatDuration } from '../time.ts';
import {
  type ConnectorHandler,
  describeError,
  executeWorkflow,
  fetchHttp,
  type HttpCallRequest,
  type HttpCallResponse,
  parseWorkflow,
  WorkflowRuntimeError,
} from '../workflows/index.ts';
import type { CurrentStep, WorkflowExecution, WorkflowsStore } from './store.ts';

/**
 * Runs of one execution that may end with local-cloud itself before it is set
 * aside: the first run and one re-run. A workflow that kills the process
 * (whatever the cause) then kills it twice, not at every start.
 */
export const MAX_UNFINISHED_RUNS = 2;

/** Dependencies of the executions runner. */
export interface ExecutionsRunnerDeps {
  store: WorkflowsStore;
  logger: Logger;
  oauthToken: string;
  oidcToken: string;
  /** Which URLs `http.*` may call and which may carry a token. */
  outbound: OutboundPolicy;
  /** The connectors for one execution (by execution name). */
  connectorsFor(execution: string): Record<string, ConnectorHandler>;
  now?: () => number;
}

/** The executions runner. */
export interface ExecutionsRunner {
  /** Starts running a stored ACTIVE execution. */
  launch(execution: WorkflowExecution): void;
  /**
   * Cancels a stored ACTIVE execution (stopping its run when it runs here) and stores it
   * CANCELLED before returning it: a stop right after the answer must not re-run it.
   */
  cancel(execution: WorkflowExecution): WorkflowExecution;
  /** Resolves when the execution has finished (at once when it is not running here). */
  completion(name: string): Promise<void>;
  /** `status.currentSteps` of a running execution: the step it is in (undefined when not running). */
  currentSteps(name: string): CurrentStep[] | undefined;
  /**
   * Re-runs executions left ACTIVE by a previous process; one whose last
   * MAX_UNFINISHED_RUNS runs all ended with the process is set FAILED instead.
   */
  resumeActive(): void;
  /** Aborts running executions (they stay ACTIVE and re-run on restart) and waits. */
  stop(): Promise<void>;
}

/**
 * The engine's fetch transport with local stand-ins for Google tokens:
 * `auth: {type: OIDC}` carries the local OIDC token (the stack's callback
 * secret), `OAuth2` the local OAuth token — each only where the outbound
 * policy lets it go. A URL the policy refuses, first or after a redirect,
 * fails the call with ConnectionFailedError before anything is sent.
 * Timeouts come from the engine's signal.
 */
export function createHttpTransport(
  oauthToken: string,
  oidcToken: string,
  outbound: OutboundPolicy,
): (req: HttpCallRequest) => Promise<HttpCallResponse> {
  return (req) => {
    const check = (url: string) => {
      const refused = outbound.refusal(url);
      if (refused !== undefined) {
        throw new WorkflowRuntimeError({
          message: `${req.method} ${url}: ${refused}`,
          tags: ['ConnectionFailedError'],
        });
      }
    };
    if (req.auth === undefined) return fetchHttp(req, { check });
    const kind = req.auth.type === 'OIDC' ? 'oidc' : 'oauth';
    if (!outbound.mayCarry(req.url, kind)) return fetchHttp(req, { check });
    const token = kind === 'oidc' ? oidcToken : oauthToken;
    return fetchHttp(
      { ...req, headers: { ...req.headers, Authorization: `Bearer ${token}` } },
      { check },
    );
  };
}

/** The parts of an execution's resource name. */
function nameParts(name: string): {
  project: string;
  location: string;
  workflowId: string;
  executionId: string;
} {
  const [, project = '', location = '', workflowId = '', executionId = ''] =
    /^projects\/([^/]+)\/locations\/([^/]+)\/workflows\/([^/]+)\/executions\/([^/]+)$/.exec(name) ??
    [];
  return { project, location, workflowId, executionId };
}

/** The built-in environment variables Workflows documents, over the workflow's userEnvVars. */
function executionEnv(
  execution: WorkflowExecution,
  userEnvVars: Record<string, string> | undefined,
): Record<string, string> {
  const { project, location, workflowId, executionId } = nameParts(execution.name);
  return {
    ...(userEnvVars ?? {}),
    GOOGLE_CLOUD_PROJECT_ID: project,
    GOOGLE_CLOUD_PROJECT_NUMBER: '000000000000',
    GOOGLE_CLOUD_LOCATION: location,
    GOOGLE_CLOUD_WORKFLOW_ID: workflowId,
    GOOGLE_CLOUD_WORKFLOW_REVISION_ID: execution.workflowRevisionId,
    GOOGLE_CLOUD_WORKFLOW_EXECUTION_ID: executionId,
  };
}

/** The error an execution that failed is stored with: the engine's description, else a SystemError. */
function describeFailure(error: unknown): { payload: string; context: string } {
  if (error instanceof WorkflowRuntimeError) return describeError(error);
  const message = coerceError(error).message;
  return { payload: JSON.stringify({ message, tags: ['SystemError'] }), context: message };
}

/**
 * The execution as it ends at `end` with `patch` (state, result or error),
 * its last step taken out of `current`: "If the workflow has succeeded or
 * failed, this is the last attempted or executed step" (status.currentSteps).
 */
function ended(
  execution: WorkflowExecution,
  patch: Partial<WorkflowExecution>,
  current: Map<string, CurrentStep>,
  end: number,
): WorkflowExecution {
  const last = current.get(execution.name);
  current.delete(execution.name);
  return Object.assign(execution, patch, {
    status: { currentSteps: last === undefined ? [] : [last] },
    endTime: new Date(end).toISOString(),
    duration: formatDuration(end - Date.parse(execution.startTime)),
  });
}

/** What one execution's run needs of its runner. */
interface RunContext {
  deps: ExecutionsRunnerDeps;
  http: ReturnType<typeof createHttpTransport>;
  /** The step each running execution is in: status.currentSteps, kept in memory, stored at the end. */
  current: Map<string, CurrentStep>;
  /** Stores the execution ended with `patch`, and returns it. */
  finish(execution: WorkflowExecution, patch: Partial<WorkflowExecution>): WorkflowExecution;
  stopping(): boolean;
}

/** How an execution ends that was set aside, its runs having ended with the process `runs` times. */
function setAside(runs: number): Partial<WorkflowExecution> {
  const message = `local-cloud stopped without a clean shutdown (a crash, or killed) during each of the last ${runs} runs of this execution; it was set aside instead of being run again`;
  return {
    state: 'FAILED',
    error: { payload: JSON.stringify({ message, tags: ['SystemError'] }), context: message },
  };
}

/** How a cancelled execution ends (Google's words). */
const CANCELLED: Partial<WorkflowExecution> = {
  state: 'CANCELLED',
  error: { payload: 'Execution was cancelled', context: 'Cancelled by a user request.' },
};

/**
 * Runs a stored ACTIVE execution to its end and stores how it ended. A cancel stores the
 * execution CANCELLED itself (its state is then no longer ACTIVE here); a stop leaves it
 * ACTIVE in the database, to run again on the next start.
 */
async function runExecution(
  ctx: RunContext,
  execution: WorkflowExecution,
  controller: AbortController,
): Promise<void> {
  const { store, logger } = ctx.deps;
  const { workflowId, executionId } = nameParts(execution.name);
  const workflowName = execution.name.split('/executions/')[0] ?? '';
  const revision = store.getRevision(workflowName, execution.workflowRevisionId);
  let log = logger.child({ execution: executionId, workflow: workflowId });
  if (!revision) {
    ctx.finish(execution, {
      state: 'FAILED',
      error: { payload: 'workflow revision not found', context: execution.workflowRevisionId },
    });
    return;
  }
  try {
    const program = parseWorkflow(revision.sourceContents);
    const argument: unknown = JSON.parse(execution.argument || 'null');
    // Every line of the run names the images its argument names (image-log-fields.ts).
    log = log.child(argumentImageFields(argument));
    // As Google logs an execution's start (ExecutionsSystemLog `start`), with its end below.
    log.info('workflow execution started');
    const result = await executeWorkflow(program, argument, {
      env: executionEnv(execution, revision.userEnvVars),
      http: ctx.http,
      connectors: ctx.deps.connectorsFor(execution.name),
      log: (entry) => log.info('sys.log', { logSeverity: entry.severity, data: entry.data }),
      signal: controller.signal,
      onStep: (step) => ctx.current.set(execution.name, step),
    });
    // Cancelled while its last step ended: stored CANCELLED already, as the cancel answered.
    if (execution.state !== 'ACTIVE') return;
    ctx.finish(execution, { state: 'SUCCEEDED', result: JSON.stringify(result ?? null) });
    log.info('workflow execution succeeded');
  } catch (error) {
    // Cancelled (stored already), or stopping: it stays ACTIVE in the database.
    if (execution.state !== 'ACTIVE' || ctx.stopping()) return;
    const described = describeFailure(error);
    ctx.finish(execution, { state: 'FAILED', error: described });
    log.warn('workflow execution failed', { error: described.payload });
  }
}

/** Creates the runner. */
export function createExecutionsRunner(deps: ExecutionsRunnerDeps): ExecutionsRunner {
  const { store, logger } = deps;
  const now = deps.now ?? Date.now;
  const running = new Map<
    string,
    { execution: WorkflowExecution; controller: AbortController; done: Promise<void> }
  >();
  const current = new Map<string, CurrentStep>();
  let stopping = false;
  const finish = (
    execution: WorkflowExecution,
    patch: Partial<WorkflowExecution>,
  ): WorkflowExecution => {
    const end = ended(execution, patch, current, now());
    store.putExecution(end);
    store.endRun(end.name);
    return end;
  };
  const ctx: RunContext = {
    deps,
    http: createHttpTransport(deps.oauthToken, deps.oidcToken, deps.outbound),
    current,
    finish,
    stopping: () => stopping,
  };

  function launch(execution: WorkflowExecution): void {
    const controller = new AbortController();
    // Stored before the run starts: if the process dies in it, the next start knows.
    store.beginRun(execution.name);
    const done = runExecution(ctx, execution, controller)
      .catch((error: unknown) => {
        logger.error('workflow execution crashed', {
          execution: execution.name,
          ...argumentTextImageFields(execution.argument),
          error: coerceError(error),
        });
      })
      .finally(() => {
        // Ended with the process alive (an end stored, or a stop that leaves it ACTIVE).
        store.endRun(execution.name);
        running.delete(execution.name);
        current.delete(execution.name); // a step the engine named after a cancel
      });
    running.set(execution.name, { execution, controller, done });
  }

  return {
    launch,
    cancel(stored) {
      const r = running.get(stored.name);
      // Not running here: its run has not resumed yet after a restart.
      if (!r) return finish(stored, CANCELLED);
      r.controller.abort();
      return finish(r.execution, CANCELLED);
    },
    async completion(name) {
      await running.get(name)?.done;
    },
    currentSteps(name) {
      if (!running.has(name)) return undefined;
      const step = current.get(name);
      return step === undefined ? [] : [step];
    },
    resumeActive() {
      for (const execution of store.activeExecutions()) {
        if (running.has(execution.name)) continue;
        const runs = store.unfinishedRuns(execution.name);
        if (runs >= MAX_UNFINISHED_RUNS) {
          finish(execution, setAside(runs));
          const fields = {
            execution: execution.name,
            runs,
            ...argumentTextImageFields(execution.argument),
          };
          logger.error(
            'set aside a workflow execution whose runs kept ending with local-cloud',
            fields,
          );
          continue;
        }
        // INFO: after a Ctrl-C this is the expected way on (the stop leaves them ACTIVE on purpose).
        logger.info('re-running a workflow execution left ACTIVE by a previous process', {
          execution: execution.name,
        });
        launch(execution);
      }
    },
    async stop() {
      stopping = true;
      for (const r of running.values()) r.controller.abort();
      await Promise.allSettled([...running.values()].map((r) => r.done));
    },
  };
}
