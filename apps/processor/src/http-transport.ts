/**
 * The HTTP transport of the callbacks. By default plain node:http/https rather
 * than `fetch`: a task makes a handful of requests and exits, and the first
 * `fetch` in a process pays for loading undici and compiling its WebAssembly
 * HTTP parser — measured at 4–5× the cost of a first node:http request on the
 * development machine, which is most of a start-up budget of 2× `node -e 0`.
 */

// Not `import … from 'node:http'`: Node builds an ESM facade of the module by reading every
// export, and one of node:http's exports is a lazy getter that loads undici — the very cost
// this file avoids (seen in a --cpu-prof of the start-up). getBuiltinModule returns the plain
// CommonJS module, and node:https (with TLS) loads only for an https backend.
const requestFor = (protocol: string) =>
  protocol === 'https:'
    ? process.getBuiltinModule('node:https').request
    : process.getBuiltinModule('node:http').request;

/** What the backend client needs from a response. */
export interface TransportResponse {
  status: number;
  ok: boolean;
  text(): Promise<string>;
}

/** What the backend client sends. */
export interface TransportRequest {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
}

/** Sends one request; rejects on network errors and aborts. */
export type HttpTransport = (url: string, init: TransportRequest) => Promise<TransportResponse>;

/** A transport over node:http / node:https (the default). */
export const nodeHttpTransport: HttpTransport = (url, init) =>
  new Promise((resolve, reject) => {
    const target = new URL(url);
    const send = requestFor(target.protocol);
    const headers: Record<string, string> = { ...init.headers };
    if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body));
    const req = send(target, { method: init.method, headers, signal: init.signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('error', reject);
      res.once('end', () => {
        const status = res.statusCode ?? 0;
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ status, ok: status >= 200 && status < 300, text: async () => body });
      });
    });
    req.once('error', reject);
    req.end(init.body);
  });

/** A transport over a `fetch` implementation (tests, or a runtime that prefers it). */
export function fetchTransport(fetchImpl: typeof fetch): HttpTransport {
  return async (url, init) => {
    const response = await fetchImpl(url, {
      method: init.method,
      headers: init.headers,
      signal: init.signal,
      ...(init.body === undefined ? {} : { body: init.body }),
    });
    return { status: response.status, ok: response.ok, text: () => response.text() };
  };
}
