/**
 * A small router for Google-style REST paths. Hono's `:param` syntax clashes
 * with Google's custom methods (`queues/q:pause`), so patterns use `{name}`
 * segments that match up to the next `/` or `:`.
 */
import { coerceError, type Logger } from '@slideshow/runtime';
import { ApiError } from './google-error.ts';

/** What a route handler receives. */
export interface ApiRequest {
  method: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: Headers;
  body: Record<string, unknown>;
}

/** What a route handler returns (status defaults to 200). */
export interface ApiResponse {
  status?: number;
  body: unknown;
}

/** A route handler; throws ApiError for Google-shaped failures. */
export type Handler = (req: ApiRequest) => ApiResponse | Promise<ApiResponse>;

interface Route {
  method: string;
  regex: RegExp;
  names: string[];
  handler: Handler;
}

/** A router: register routes, then `handle` web Requests. */
export interface Router {
  add(method: string, pattern: string, handler: Handler): void;
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

function json(status: number, body: unknown): Response {
  return new Response(`${JSON.stringify(body, null, 2)}\n`, {
    status,
    headers: { 'content-type': 'application/json; charset=UTF-8' },
  });
}

async function readBody(request: Request): Promise<Record<string, unknown>> {
  const text = await request.text();
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

/** Creates a router whose failures are Google error JSON, logged once here. */
export function createRouter(logger: Logger): Router {
  const routes: Route[] = [];
  return {
    add(method, pattern, handler) {
      routes.push({ method, handler, ...compile(pattern) });
    },
    async handle(request) {
      const url = new URL(request.url);
      // gcloud sometimes escapes ':' in custom methods.
      const path = decodeURIComponent(url.pathname);
      let pathMatched = false;
      try {
        for (const route of routes) {
          const m = route.regex.exec(path);
          if (!m) continue;
          pathMatched = true;
          if (route.method !== request.method) continue;
          const params: Record<string, string> = {};
          route.names.forEach((name, i) => {
            params[name] = m[i + 1] ?? '';
          });
          const body = request.method === 'GET' ? {} : await readBody(request);
          const res = await route.handler({
            method: request.method,
            params,
            query: url.searchParams,
            headers: request.headers,
            body,
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
  };
}
