/**
 * A small router for Google-style REST paths. Hono's `:param` syntax clashes
 * with Google's custom methods (`queues/q:pause`), so patterns use `{name}`
 * segments that match up to the next `/` or `:`. Requests come straight from
 * node:http (`handleRaw`, no web Request/stream objects on the hot path) or as
 * web Requests (`handle`, for tests and other hosts). Every request passes
 * the screen the router is built with (request-guard.ts) before any route
 * sees it: no route can be registered outside it.
 */
import { coerceError, type Logger } from '@slideshow/runtime';
import { ApiError } from './google-error.ts';
import { logRefusal } from './request-guard.ts';

/** Reads request headers by (case-insensitive) name, like `Headers.get`. */
export interface HeaderReader {
  get(name: string): string | null;
}

/** What a route handler receives. */
export interface ApiRequest {
  method: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: HeaderReader;
  body: Record<string, unknown>;
}

/** What a route handler returns (status defaults to 200). */
export interface ApiResponse {
  status?: number;
  body: unknown;
}

/** A route handler; throws ApiError for Google-shaped failures. */
export type Handler = (req: ApiRequest) => ApiResponse | Promise<ApiResponse>;

/** A request as the HTTP server hands it over: path with query, and the body as text. */
export interface RawRequest {
  method: string;
  /** Path and query, e.g. `/v2/projects/p/locations/l/queues?pageSize=10`. */
  url: string;
  headers: HeaderReader;
  body: string;
}

/** A JSON answer: status and serialized body. */
export interface RawResponse {
  status: number;
  body: string;
}

interface Route {
  method: string;
  regex: RegExp;
  names: string[];
  handler: Handler;
}

/** A router: register routes, then handle requests (node:http-style raw, or web Requests). */
export interface Router {
  add(method: string, pattern: string, handler: Handler): void;
  handleRaw(request: RawRequest): Promise<RawResponse>;
  handle(request: Request): Promise<Response>;
}
function compile(pattern: string): { regex: RegExp; names: string[] } {
  const names: string[] = [];
  const source = pattern
    .split(/(\{[a-zA-Z]+\})/)
    .map((part) => {
      const m = /^\{([a-zA-Z]+)\}$/.exec(part);
      if (m?.[1]) {
        names.push(m[1]);
        return '([^/:]+)';
      }
      return part.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
    })
    .join('');
  return { regex: new RegExp(`^${source}$`), names };
}

function json(status: number, body: unknown): RawResponse {
  return { status, body: JSON.stringify(body) };
}

function decodePath(pathname: string): string {
  try {
    // gcloud sometimes escapes ':' in custom methods.
    return decodeURIComponent(pathname);
  } catch (error) {
    throw new ApiError('INVALID_ARGUMENT', `Malformed path: ${coerceError(error).message}`);
  }
}

function parseBody(text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ApiError('INVALID_ARGUMENT', `Invalid JSON payload: ${coerceError(error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ApiError('INVALID_ARGUMENT', 'Invalid JSON payload: expected an object.');
  }
  return parsed as Record<string, unknown>;
}

/** Decides from the headers whether a request may be served (request-guard.ts). */
export type RequestScreen = (headers: HeaderReader) => ApiError | undefined;

/**
 * Creates a router whose failures are Google error JSON, logged once here.
 * `screen` runs first for every request; a refusal is answered without
 * parsing the path or the body.
 */
export function createRouter(logger: Logger, screen: RequestScreen): Router {
  const routes: Route[] = [];
  return {
    add(method, pattern, handler) {
      routes.push({ method, handler, ...compile(pattern) });
    },
    async handleRaw(request) {
      const refused = screen(request.headers);
      if (refused !== undefined) {
        logRefusal(logger, request.method, refused);
        return json(refused.httpCode, refused.toBody());
      }
      const url = new URL(request.url, 'http://local-cloud');
      let path = url.pathname;
      let pathMatched = false;
      try {
        path = decodePath(url.pathname);
        for (const route of routes) {
          const m = route.regex.exec(path);
          if (!m) continue;
          pathMatched = true;
          if (route.method !== request.method) continue;
          const params: Record<string, string> = {};
          route.names.forEach((name, i) => {
            params[name] = m[i + 1] ?? '';
          });
          const res = await route.handler({
            method: request.method,
            params,
            query: url.searchParams,
            headers: request.headers,
            body: request.method === 'GET' ? {} : parseBody(request.body),
          });
          return json(res.status ?? 200, res.body);
        }
        throw pathMatched
          ? new ApiError('UNIMPLEMENTED', `Method ${request.method} is not supported on ${path}.`)
          : new ApiError('NOT_FOUND', `Unknown path: ${path}`);
      } catch (error) {
        if (error instanceof ApiError) {
          logger.debug('api error', { method: request.method, path, status: error.status });
          return json(error.httpCode, error.toBody());
        }
        const e = coerceError(error);
        logger.error('api handler failed', { method: request.method, path, error: e });
        return json(500, { error: { code: 500, message: e.message, status: 'INTERNAL' } });
      }
    },
    async handle(request) {
      const url = new URL(request.url);
      const res = await this.handleRaw({
        method: request.method,
        url: `${url.pathname}${url.search}`,
        // A web Request has no Host header: its URL says where it was addressed.
        headers: {
          get: (name) =>
            request.headers.get(name) ?? (name.toLowerCase() === 'host' ? url.host : null),
        },
        body: request.method === 'GET' ? '' : await request.text(),
      });
      return new Response(res.body, {
        status: res.status,
        headers: { 'content-type': 'application/json; charset=UTF-8' },
      });
    },
  };
}
