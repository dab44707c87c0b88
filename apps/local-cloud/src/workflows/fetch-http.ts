/**
 * A RunContext.http transport over fetch: query maps become URL parameters
 * (lists repeat the key), bodies are JSON-encoded unless a non-JSON
 * Content-Type is set (as Google's http.* do), responses come back as text for
 * JSON and text types (the engine decodes JSON) and bytes otherwise. It adds no
 * credentials: a host wraps it to turn `auth` into an Authorization header.
 *
 * Redirects are followed here, hop by hop (at most 20, the Fetch standard's
 * limit), so that the host's `check` sees every URL before it is requested
 * — a redirect cannot carry a call past the host's outbound policy — and an
 * Authorization header is dropped when a hop changes origin, as fetch does.
 *
 * A response body is read up to Workflows' response size limit (2 MB, "the
 * maximum size of an HTTP response", quotas page): past it the call fails with
 * ResourceLimitError, so one large answer cannot fill local-cloud's memory
 * before the variable limit (512 KB) sees it.
 */
import type { HttpCallRequest, HttpCallResponse } from './context.ts';
import { WorkflowRuntimeError } from './errors.ts';

function withQuery(url: string, query: Record<string, unknown> | undefined): string {
  if (query === undefined) return url;
  const u = new URL(url);
  for (const [key, value] of Object.entries(query)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      u.searchParams.append(key, typeof item === 'string' ? item : JSON.stringify(item));
    }
  }
  return u.toString();
}

function encodeBody(request: HttpCallRequest, headers: Headers): string | Uint8Array | undefined {
  const { body } = request;
  if (body === undefined || request.method === 'GET' || request.method === 'HEAD') return undefined;
  if (body instanceof Uint8Array) {
    if (!headers.has('content-type')) headers.set('content-type', 'application/octet-stream');
    return body;
  }
  const type = headers.get('content-type');
  if (typeof body === 'string' && type !== null && !/json/i.test(type)) return body;
  if (type === null) headers.set('content-type', 'application/json');
  return JSON.stringify(body);
}

/** Options of {@link fetchHttp}. */
export interface FetchHttpOptions {
  /** Throws to refuse a URL (the first request and every redirect). */
  check?(url: string): void;
  /** Largest response body read, in bytes (default {@link MAX_RESPONSE_BYTES}). */
  maxResponseBytes?: number;
}

/** Workflows' HTTP response size limit: 2 MB. */
export const MAX_RESPONSE_BYTES = 2 * 1024 * 1024;

function responseTooLarge(url: string, limit: number): WorkflowRuntimeError {
  return new WorkflowRuntimeError(
    {
      message: `HTTP response of ${url} is larger than ${limit} bytes (the response size limit)`,
      tags: ['ResourceLimitError'],
    },
    { fatal: true },
  );
}

/** The body of `response`, read up to `limit` bytes; throws past it without reading the rest. */
async function readBody(response: Response, url: string, limit: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > limit) {
    await response.body?.cancel();
    throw responseTooLarge(url, limit);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  // Leaving the loop early cancels the stream (its iterator's return()).
  for await (const chunk of response.body ?? []) {
    total += chunk.byteLength;
    if (total > limit) throw responseTooLarge(url, limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;

/** Sends the request with fetch and returns status, headers (lower-case names) and body. */
export async function fetchHttp(
  request: HttpCallRequest,
  options: FetchHttpOptions = {},
): Promise<HttpCallResponse> {
  const headers = new Headers(request.headers);
  let body = encodeBody(request, headers);
  let method = request.method;
  let url = withQuery(request.url, request.query);
  let response: Response;
  for (let hop = 0; ; hop++) {
    options.check?.(url);
    response = await fetch(url, {
      method,
      headers,
      redirect: 'manual',
      ...(body === undefined ? {} : { body }),
      ...(request.signal === undefined ? {} : { signal: request.signal }),
    });
    const location = response.headers.get('location');
    if (!REDIRECTS.has(response.status) || location === null) break;
    if (hop === MAX_REDIRECTS)
      throw new TypeError(`${request.method} ${request.url}: too many redirects`);
    await response.body?.cancel();
    const next = new URL(location, url);
    // Fetch standard "HTTP-redirect fetch": 303, and 301/302 after a POST, become a GET without body.
    if (
      (response.status === 303 && method !== 'GET' && method !== 'HEAD') ||
      ((response.status === 301 || response.status === 302) && method === 'POST')
    ) {
      method = 'GET';
      body = undefined;
      headers.delete('content-type');
    }
    if (next.origin !== new URL(url).origin) headers.delete('authorization');
    url = next.href;
  }
  const responseHeaders: Record<string, string> = {};
  response.headers.forEach((value, key) => {
    responseHeaders[key] = value;
  });
  const type = response.headers.get('content-type') ?? '';
  const isText = /json|^text\//i.test(type);
  const bytes = await readBody(response, url, options.maxResponseBytes ?? MAX_RESPONSE_BYTES);
  const responseBody = isText ? new TextDecoder().decode(bytes) : new Uint8Array(bytes);
  return { code: response.status, headers: responseHeaders, body: responseBody };
}
