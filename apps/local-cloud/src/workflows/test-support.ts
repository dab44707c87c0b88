/**
 * Helpers for the engine's tests: a RunContext whose HTTP calls, connector
 * calls, logs and sleeps are recorded (sleep returns at once), and a one-call
 * parse-and-run.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { coerceError } from '@slideshow/runtime';
import type { ConnectorHandler, HttpCallRequest, HttpCallResponse, RunContext } from './context.ts';
import { executeWorkflow } from './execute.ts';
import { parseWorkflow } from './parse.ts';

/** A RunContext plus what the workflow did through it. */
export interface RecordingContext extends RunContext {
  readonly httpCalls: HttpCallRequest[];
  readonly connectorCalls: {
    name: string;
    args: Record<string, unknown>;
    timeoutSeconds: number;
    skipPolling: boolean;
  }[];
  readonly logs: { severity: string; data: unknown }[];
  readonly sleeps: number[];
}

/** Builds a recording context; `http` and `connectors` answer as the test says. */
export function recordingContext(
  options: {
    env?: Record<string, string>;
    http?: (request: HttpCallRequest) => Promise<HttpCallResponse>;
    connectors?: Record<string, ConnectorHandler>;
    limits?: RunContext['limits'];
    signal?: AbortSignal;
  } = {},
): RecordingContext {
  const httpCalls: HttpCallRequest[] = [];
  const connectorCalls: RecordingContext['connectorCalls'] = [];
  const logs: RecordingContext['logs'] = [];
  const sleeps: number[] = [];
  const connectors: Record<string, ConnectorHandler> = {};
  for (const [name, handler] of Object.entries(options.connectors ?? {})) {
    connectors[name] = (args, opts) => {
      connectorCalls.push({
        name,
        args,
        timeoutSeconds: opts.timeoutSeconds,
        skipPolling: opts.skipPolling,
      });
      return handler(args, opts);
    };
  }
  return {
    env: options.env ?? {},
    httpCalls,
    connectorCalls,
    logs,
    sleeps,
    connectors,
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    http: async (request) => {
      const { signal: _signal, ...rest } = request;
      httpCalls.push(rest);
      if (options.http === undefined) return { code: 200, headers: {}, body: null };
      return options.http(request);
    },
    log: (entry) => {
      logs.push(entry);
    },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  };
}

/** Parses `source` and runs it. */
export function run(
  source: string,
  argument: unknown = null,
  ctx: RunContext = recordingContext(),
): Promise<unknown> {
  return executeWorkflow(parseWorkflow(source), argument, ctx);
}

/** Runs and returns the WorkflowRuntimeError's map (fails when the run succeeds). */
export async function runError(
  source: string,
  argument: unknown = null,
  ctx: RunContext = recordingContext(),
) {
  try {
    await run(source, argument, ctx);
  } catch (error) {
    if (error instanceof Error && 'value' in error)
      return (error as { value: Record<string, unknown> }).value;
    throw coerceError(error);
  }
  throw new Error('expected the workflow to fail');
}

/** A loopback URL where nothing listens (a port the OS just handed out and took back). */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/**
 * Workflows that double a value at every step, without end: the memory probe
 * of docs/security.md (a list through `list.concat`, a string through `+`).
 */
export const DOUBLING_WORKFLOWS = {
  list: `
main:
  steps:
    - a:
        assign:
          - l: [1, 2, 3, 4, 5, 6, 7, 8]
    - b:
        assign:
          - l: \${list.concat(l, l)}
        next: b
`,
  string: `
main:
  steps:
    - a:
        assign:
          - s: "12345678"
    - b:
        assign:
          - s: \${s + s}
        next: b
`,
} as const;

/** A workflow that returns `${expression}`, its argument bound to `args`. */
export function returning(expression: string): string {
  return `
main:
  params: [args]
  steps:
    - r:
        return: \${${expression}}
`;
}
