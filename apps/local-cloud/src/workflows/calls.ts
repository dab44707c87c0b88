/**
 * The built-in blocking calls of a `call` step: http.*, sys.sleep, sys.log,
 * sys.get_env, sys.now, and connectors (googleapis.*) through the host.
 * Error maps follow https://cloud.google.com/workflows/docs/reference/syntax/error-types
 * and https://cloud.google.com/workflows/docs/reference/stdlib/http/get.
 */
import { coerceError } from '@slideshow/runtime';
import type { HttpCallRequest, RunContext } from './context.ts';
import { cancelledError, taggedError, WorkflowRuntimeError } from './errors.ts';
import { builtinPredicate, DEFAULT_BACKOFF } from './retry.ts';
import { decodeJsonText } from './stdlib-args.ts';
import { fromJs, toJs, typeName, type WfMap, type WfValue } from './values.ts';

/** Google's default HTTP timeout (300 s) and maximum (1800 s). */
const HTTP_TIMEOUT_DEFAULT_S = 300;
const HTTP_TIMEOUT_MAX_S = 1800;
/** Google's default connector call timeout: 1800 s. */
const CONNECTOR_TIMEOUT_DEFAULT_S = 1800;
/** setTimeout's largest delay; longer timeouts are not armed (they cannot fire in a test or a dev session). */
const MAX_TIMER_MS = 2 ** 31 - 1;

class TimedOut extends Error {}

/** Runs `work` with a deadline and the execution's cancellation; throws TimedOut on expiry. */
async function withDeadline<T>(
  seconds: number,
  outer: AbortSignal | undefined,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const onOuter = () => controller.abort(outer?.reason);
  outer?.addEventListener('abort', onOuter, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const ms = seconds * 1000;
  const deadline = new Promise<never>((_resolve, reject) => {
    if (ms <= MAX_TIMER_MS) {
      timer = setTimeout(() => {
        // Reject first: the race must settle as a timeout, not as the work's reaction to the abort.
        reject(new TimedOut(`timed out after ${seconds} s`));
        controller.abort(new TimedOut('deadline'));
      }, ms);
    }
  });
  try {
    return await Promise.race([work(controller.signal), deadline]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    outer?.removeEventListener('abort', onOuter);
  }
}

function argMap(fn: string, args: WfValue): WfMap {
  if (args === null) return new Map();
  if (!(args instanceof Map)) throw taggedError('TypeError', `${fn}: args must be a map`);
  return args;
}

function optString(fn: string, m: WfMap, key: string): string | undefined {
  const v = m.get(key) ?? null;
  if (v === null) return undefined;
  if (typeof v !== 'string')
    throw taggedError('TypeError', `${fn}: ${key} must be a string, got ${typeName(v)}`);
  return v;
}

function seconds(fn: string, m: WfMap, key: string, fallback: number): number {
  const v = m.get(key) ?? null;
  if (v === null) return fallback;
  if (typeof v !== 'bigint' && typeof v !== 'number') {
    throw taggedError('TypeError', `${fn}: ${key} must be a number of seconds`);
  }
  return Number(v);
}

function networkCode(error: unknown): string | undefined {
  let cur: unknown = error;
  for (let i = 0; i < 4 && cur !== null && typeof cur === 'object'; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

const NOT_ESTABLISHED = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function decodeBody(body: unknown, headers: Record<string, string>): WfValue {
  const type = Object.entries(headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? '';
  const isJson = /[/+]json\b/i.test(type);
  if (body instanceof Uint8Array) {
    if (isJson) return decodeJsonText(Buffer.from(body).toString('utf8'));
    if (/^text\//i.test(type)) return Buffer.from(body).toString('utf8');
    return new Uint8Array(body);
  }
  if (typeof body === 'string' && isJson && body.trim() !== '') {
    try {
      return decodeJsonText(body);
    } catch (error) {
      // Not JSON after all: Google hands such a body over as text.
      if (error instanceof WorkflowRuntimeError) return body;
      throw coerceError(error);
    }
  }
  return fromJs(body);
}

/** http.get/post/put/patch/delete/request. */
export async function httpCall(fn: string, rawArgs: WfValue, ctx: RunContext): Promise<WfValue> {
  const args = argMap(fn, rawArgs);
  const method =
    fn === 'http.request'
      ? optString(fn, args, 'method')?.toUpperCase()
      : fn.slice(5).toUpperCase();
  const url = optString(fn, args, 'url');
  if (method === undefined) throw taggedError('ValueError', `${fn}: method is required`);
  if (url === undefined) throw taggedError('ValueError', `${fn}: url is required`);
  if (!URL.canParse(url)) throw taggedError('ValueError', `${fn}: invalid url ${url}`);
  const timeoutSeconds = Math.min(
    seconds(fn, args, 'timeout', HTTP_TIMEOUT_DEFAULT_S),
    HTTP_TIMEOUT_MAX_S,
  );
  const headers: Record<string, string> = {};
  const rawHeaders = args.get('headers') ?? null;
  if (rawHeaders instanceof Map) {
    for (const [k, v] of rawHeaders) headers[k] = typeof v === 'string' ? v : String(toJs(v));
  }
  const request: HttpCallRequest = { method, url, headers, timeoutSeconds };
  const query = args.get('query') ?? null;
  if (query instanceof Map) request.query = toJs(query) as Record<string, unknown>;
  if (args.has('body')) request.body = toJs(args.get('body') ?? null);
  const auth = args.get('auth') ?? null;
  if (auth instanceof Map) {
    const type = auth.get('type');
    if (type !== 'OIDC' && type !== 'OAuth2')
      throw taggedError('ValueError', `${fn}: auth.type must be OIDC or OAuth2`);
    // Google: an OIDC token's audience defaults to the URL called (without its query).
    const audience =
      optString(fn, auth, 'audience') ?? (type === 'OIDC' ? url.split('?')[0] : undefined);
    const scopes = auth.get('scopes') ?? auth.get('scope') ?? null;
    request.auth = {
      type,
      ...(audience === undefined ? {} : { audience }),
      ...(scopes === null
        ? {}
        : { scopes: (Array.isArray(scopes) ? scopes : [scopes]).map(String) }),
    };
  }
  let response: Awaited<ReturnType<RunContext['http']>>;
  try {
    response = await withDeadline(timeoutSeconds, ctx.signal, (signal) =>
      ctx.http({ ...request, signal }),
    );
  } catch (error) {
    if (ctx.signal?.aborted) throw cancelledError();
    if (error instanceof WorkflowRuntimeError) throw error;
    if (error instanceof TimedOut)
      throw taggedError('TimeoutError', `${method} ${url}: ${error.message}`);
    const cause = coerceError(error);
    const code = networkCode(error);
    if (code !== undefined && NOT_ESTABLISHED.has(code)) {
      throw taggedError(
        'ConnectionFailedError',
        `${method} ${url}: connection could not be established (${code})`,
      );
    }
    throw taggedError('ConnectionError', `${method} ${url}: connection failed: ${cause.message}`);
  }
  const result: WfMap = new Map<string, WfValue>([
    ['code', BigInt(response.code)],
    ['headers', fromJs(response.headers)],
    ['body', decodeBody(response.body, response.headers)],
  ]);
  if (response.code >= 400) {
    throw new WorkflowRuntimeError({
      message: `HTTP server responded with error code ${response.code}`,
      code: response.code,
      headers: response.headers,
      body: toJs(result.get('body') ?? null),
      tags: ['HttpError'],
    });
  }
  return result;
}

/** A connector call through ctx.connectors, honouring connector_params.timeout and skip_polling. */
export async function connectorCall(
  fn: string,
  rawArgs: WfValue,
  ctx: RunContext,
): Promise<WfValue> {
  const handler = Object.hasOwn(ctx.connectors, fn) ? ctx.connectors[fn] : undefined;
  if (handler === undefined)
    throw taggedError('SystemError', `unsupported: connector ${fn} is not served locally`);
  const args = new Map(argMap(fn, rawArgs));
  const params = args.get('connector_params') ?? null;
  args.delete('connector_params');
  const paramMap = params instanceof Map ? params : new Map<string, WfValue>();
  const timeoutSeconds = seconds(fn, paramMap, 'timeout', CONNECTOR_TIMEOUT_DEFAULT_S);
  const skipPolling = paramMap.get('skip_polling') === true;
  try {
    const plainArgs = toJs(args) as Record<string, unknown>;
    const result = await withDeadline(timeoutSeconds, ctx.signal, async (signal) => {
      // Connectors retry on their own (https://cloud.google.com/workflows/docs/connectors):
      // the non-idempotent policy (429, 503, ConnectionFailedError; 5 retries, 1 s × 1.25
      // up to 60 s) is safe for every method, GETs included.
      for (let attempt = 0; ; attempt++) {
        try {
          return await handler(plainArgs, { timeoutSeconds, skipPolling, signal });
        } catch (error) {
          const retry =
            error instanceof WorkflowRuntimeError &&
            !signal.aborted &&
            attempt < DEFAULT_BACKOFF.maxRetries &&
            builtinPredicate('http.default_retry_predicate_non_idempotent', fromJs(error.value));
          // Anything but a Workflows error map is normalised on its way out.
          if (!retry) throw error instanceof WorkflowRuntimeError ? error : coerceError(error);
          const delay = Math.min(
            DEFAULT_BACKOFF.initialDelay * DEFAULT_BACKOFF.multiplier ** attempt,
            DEFAULT_BACKOFF.maxDelay,
          );
          await sleep(ctx, delay * 1000);
        }
      }
    });
    return fromJs(result);
  } catch (error) {
    if (ctx.signal?.aborted) throw cancelledError();
    if (error instanceof WorkflowRuntimeError) throw error;
    if (error instanceof TimedOut) throw taggedError('TimeoutError', `${fn}: ${error.message}`);
    throw taggedError('SystemError', `${fn}: ${coerceError(error).message}`);
  }
}

/** Waits, honouring cancellation: an abort ends the wait with the CancelledError map. */
export async function sleep(ctx: RunContext, ms: number): Promise<void> {
  const signal = ctx.signal ?? new AbortController().signal;
  try {
    if (ctx.sleep !== undefined) {
      await ctx.sleep(ms, signal);
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(done, Math.min(ms, MAX_TIMER_MS));
      function done() {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }
      function onAbort() {
        clearTimeout(timer);
        reject(signal.reason);
      }
      signal.addEventListener('abort', onAbort, { once: true });
    });
  } catch (error) {
    if (signal.aborted) throw cancelledError();
    throw error;
  }
}

/** sys.sleep, sys.log, sys.get_env and sys.now used as `call` steps. */
export async function sysCall(fn: string, rawArgs: WfValue, ctx: RunContext): Promise<WfValue> {
  const args = argMap(fn, rawArgs);
  switch (fn) {
    case 'sys.sleep': {
      const s = seconds(fn, args, 'seconds', Number.NaN);
      if (!Number.isFinite(s) || s < 0)
        throw taggedError('ValueError', 'sys.sleep: seconds must be >= 0');
      await sleep(ctx, s * 1000);
      return null;
    }
    case 'sys.log': {
      const severity = optString(fn, args, 'severity') ?? 'DEFAULT';
      const data = args.get('data') ?? args.get('text') ?? args.get('json') ?? null;
      ctx.log({ severity, data: toJs(data) });
      return null;
    }
    case 'sys.get_env': {
      const name = optString(fn, args, 'name');
      if (name === undefined) throw taggedError('ValueError', 'sys.get_env: name is required');
      return ctx.env[name] ?? args.get('default') ?? null;
    }
    default:
      return Date.now() / 1000;
  }
}
