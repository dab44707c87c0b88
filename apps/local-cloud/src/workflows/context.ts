/**
 * What the engine needs from its host (the local-cloud server, or a test):
 * environment, an HTTP transport, connectors, logging, sleeping, cancellation
 * and limits. The engine owns Workflows semantics (error maps, timeouts,
 * retries); the host owns transport and authentication.
 */

/** An `http.*` call as the engine hands it to the host. */
export interface HttpCallRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  query?: Record<string, unknown>;
  /** Plain JSON value, a string, or bytes (Uint8Array). */
  body?: unknown;
  /** The host adds a token of this kind (production: Google-signed; local: the stack's credential). */
  auth?: { type: 'OIDC' | 'OAuth2'; audience?: string; scopes?: string[] };
  timeoutSeconds: number;
  /** Aborted when the call timed out or the execution was cancelled. */
  signal?: AbortSignal;
}

/**
 * The host's answer. `body` may be parsed JSON, a string, or bytes; strings and
 * bytes with a JSON content type are decoded by the engine, like Google does.
 */
export interface HttpCallResponse {
  code: number;
  headers: Record<string, string>;
  body: unknown;
}

/** Options the engine passes to a connector handler. */
export interface ConnectorOptions {
  timeoutSeconds: number;
  skipPolling: boolean;
  signal: AbortSignal;
}

/** A connector handler, e.g. for 'googleapis.run.v2.projects.locations.jobs.run'. */
export type ConnectorHandler = (
  args: Record<string, unknown>,
  options: ConnectorOptions,
) => Promise<unknown>;

/** Everything an execution needs from its host. */
export interface RunContext {
  /** sys.get_env: GOOGLE_CLOUD_PROJECT_ID, GOOGLE_CLOUD_LOCATION, GOOGLE_CLOUD_WORKFLOW_ID, …, plus userEnvVars. */
  env: Record<string, string>;
  /** Transport only: the engine turns >= 400 into HttpError maps and failures into Connection*Error. */
  http(request: HttpCallRequest): Promise<HttpCallResponse>;
  /** By full name; a handler throws WorkflowRuntimeError carrying the error map. */
  connectors: Record<string, ConnectorHandler>;
  /** sys.log */
  log(entry: { severity: string; data: unknown }): void;
  /** sys.sleep and retry backoff; defaults to a timer. */
  sleep?(ms: number, signal: AbortSignal): Promise<void>;
  /** Cancels the execution. */
  signal?: AbortSignal;
  /**
   * Called as each step starts, with its subworkflow ("routine") and name: the
   * execution's `status.currentSteps` (Google: "If the current step is inside a
   * subworkflow, the list only includes that step").
   */
  onStep?(step: { routine: string; step: string }): void;
  /**
   * Defaults: 100,000 steps, call depth 20, 512 KB of variables, which is also
   * the most any one value may take (Google's documented limits).
   */
  limits?: { maxSteps?: number; maxCallDepth?: number; maxMemoryBytes?: number };
}
