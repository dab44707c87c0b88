/**
 * A RunContext.http transport over fetch: query maps become URL parameters
 * (lists repeat the key), bodies are JSON-encoded unless a non-JSON
 * Content-Type is set (as Google's http.* do), responses come back as text for
 * JSON and text types (the engine decodes JSON) and bytes otherwise. It adds no
 * credentials: a host wraps it to turn `auth` into an Authorization header.
 */
import type { HttpCallRequest, HttpCallResponse } from './context.ts';

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

/** Sends the request with fetch and returns status, headers (lower-case names) and body. */
export async function fetchHttp(request: HttpCallRequest): Promise<HttpCallResponse> {
  const headers = new Headers(request.headers);
  const body = encodeBody(request, headers);
  const response = await fetch(withQuery(request.url, request.query), {
    method: request.method,
    headers,
    ...(body === undefined ? {} : { body }),
    ...(request.signal === undefined ? {} : { signal: request.signal }),
  });
  const responseHeaders: Record<string, string> = {};
  response.headers.forEach((value, key) => {
    responseHeaders[key] = value;
  });
  const type = response.headers.get('content-type') ?? '';
  const isText = /json|^text\//i.test(type);
  const responseBody = isText
    ? await response.text()
    : new Uint8Array(await response.arrayBuffer());
  return { code: response.status, headers: responseHeaders, body: responseBody };
}
