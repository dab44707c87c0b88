import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowRuntimeError } from './errors.ts';
import { fetchHttp } from './fetch-http.ts';
import { closedPortUrl, recordingContext, run, runError } from './test-support.ts';

describe('raise, try and except', () => {
  it('raises a map as the error value', async () => {
    const source = `
- fail:
    raise:
      code: 55
      message: "custom"
`;
    expect(await runError(source)).toEqual({ code: 55, message: 'custom' });
  });

  it('catches a tagged error with except as, and can inspect its tags', async () => {
    const source = `
- guarded:
    try:
      assign:
        - x: \${1 / 0}
    except:
      as: e
      steps:
        - inspect:
            return: \${[e.tags, "ZeroDivisionError" in e.tags, e.message]}
`;
    expect(await run(source)).toEqual([['ZeroDivisionError'], true, 'division by zero: 1 / 0']);
  });

  it('re-raises from except and keeps the original error map', async () => {
    const source = `
- guarded:
    try:
      steps:
        - missing:
            return: \${json.decode("{}").nope}
    except:
      as: e
      steps:
        - again:
            raise: \${e}
`;
    expect(await runError(source)).toEqual({
      message: 'key not found: nope',
      tags: ['KeyError'],
    });
  });

  it('records the innermost step an uncaught error came from, outside the error map', async () => {
    const source = `
main:
  steps:
    - outer:
        call: inner
inner:
  steps:
    - ok:
        assign:
          - x: 1
    - broken:
        return: \${x / 0}
`;
    const error = await run(source).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowRuntimeError);
    expect((error as WorkflowRuntimeError).location).toBe('inner.broken (line 11)');
    expect(Object.keys((error as WorkflowRuntimeError).value)).toEqual(['message', 'tags']);
  });

  it('does not let except catch the step limit', async () => {
    const source = `
- guarded:
    try:
      steps:
        - spin:
            next: spin
    except:
      as: e
      steps:
        - swallowed:
            return: "caught"
`;
    const error = await runError(source, null, recordingContext({ limits: { maxSteps: 200 } }));
    expect(error).toMatchObject({ tags: ['ResourceLimitError'] });
  });
});

describe('retry', () => {
  const flaky = (failures: number, code = 503) => {
    let calls = 0;
    return async () => {
      calls++;
      return calls <= failures
        ? { code, headers: {}, body: 'busy' }
        : { code: 200, headers: {}, body: 'ok' };
    };
  };

  it('retries with exponential backoff capped at max_delay, through the host sleep', async () => {
    const source = `
- call_api:
    try:
      call: http.get
      args:
        url: http://api.test/x
      result: r
    retry:
      predicate: \${http.default_retry_predicate}
      max_retries: 5
      backoff:
        initial_delay: 1
        max_delay: 3
        multiplier: 2
- done:
    return: \${r.body}
`;
    const ctx = recordingContext({ http: flaky(4) });
    expect(await run(source, null, ctx)).toBe('ok');
    expect(ctx.sleeps).toEqual([1000, 2000, 3000, 3000]);
    expect(ctx.httpCalls).toHaveLength(5);
  });

  it('gives up after max_retries and hands the last error to except', async () => {
    const source = `
- call_api:
    try:
      call: http.get
      args:
        url: http://api.test/x
    retry: \${http.default_retry}
    except:
      as: e
      steps:
        - give_up:
            return: \${e.code}
`;
    const ctx = recordingContext({ http: flaky(100) });
    expect(await run(source, null, ctx)).toBe(503);
    // http.default_retry: 5 retries, initial 1 s, multiplier 1.25, max 60 s.
    expect(ctx.sleeps).toEqual([1000, 1250, 1562.5, 1953.125, 2441.40625]);
  });

  it('does not retry a 404 with the default predicate', async () => {
    const source = `
- call_api:
    try:
      call: http.get
      args:
        url: http://api.test/x
    retry: \${http.default_retry}
`;
    const ctx = recordingContext({ http: flaky(100, 404) });
    expect(await runError(source, null, ctx)).toMatchObject({ code: 404, tags: ['HttpError'] });
    expect(ctx.sleeps).toEqual([]);
  });

  it('asks a predicate subworkflow whether to retry', async () => {
    const source = `
main:
  steps:
    - call_api:
        try:
          call: http.get
          args:
            url: http://api.test/x
          result: r
        retry:
          predicate: \${only_404}
          max_retries: 2
          backoff:
            initial_delay: 0.5
            max_delay: 10
            multiplier: 3
    - done:
        return: \${r.body}
only_404:
  params: [e]
  steps:
    - decide:
        return: \${e.code == 404}
`;
    const ctx = recordingContext({ http: flaky(2, 404) });
    expect(await run(source, null, ctx)).toBe('ok');
    expect(ctx.sleeps).toEqual([500, 1500]);
  });
});

describe('http calls against a loopback server', () => {
  let server: Server;
  let base = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        if (req.url?.startsWith('/hang')) return; // never answers: the caller's timeout fires
        const status = Number(
          new URL(req.url ?? '/', 'http://x').searchParams.get('status') ?? 200,
        );
        res.writeHead(status, { 'content-type': 'application/json', 'x-seen': req.method ?? '' });
        res.end(
          JSON.stringify({
            method: req.method,
            url: req.url,
            body: body === '' ? null : JSON.parse(body),
            big: 1,
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('posts a JSON body with query and headers, and decodes the JSON answer', async () => {
    const source = `
- post:
    call: http.post
    args:
      url: ${base}/items
      query:
        page: 2
      headers:
        X-Trace: "t1"
      body:
        name: "n"
        count: 3
    result: r
- done:
    return: \${[r.code, r.headers["x-seen"], r.body]}
`;
    expect(await run(source, null, recordingContext({ http: fetchHttp }))).toEqual([
      200,
      'POST',
      { method: 'POST', url: '/items?page=2', body: { name: 'n', count: 3 }, big: 1 },
    ]);
  });

  it('turns a 500 answer into an HttpError map with code, headers and body', async () => {
    const source = `
- get:
    call: http.request
    args:
      method: DELETE
      url: ${base}/x?status=500
`;
    const error = await runError(source, null, recordingContext({ http: fetchHttp }));
    expect(error).toMatchObject({
      message: 'HTTP server responded with error code 500',
      code: 500,
      tags: ['HttpError'],
      body: { method: 'DELETE' },
    });
  });

  it('raises ConnectionFailedError when nothing listens', async () => {
    const source = `- get:\n    call: http.get\n    args:\n      url: ${await closedPortUrl()}/x\n`;
    expect(await runError(source, null, recordingContext({ http: fetchHttp }))).toMatchObject({
      tags: ['ConnectionFailedError'],
    });
  });

  it('raises TimeoutError when the server does not answer within timeout', async () => {
    const source = `- get:\n    call: http.get\n    args:\n      url: ${base}/hang\n      timeout: 0.2\n`;
    expect(await runError(source, null, recordingContext({ http: fetchHttp }))).toMatchObject({
      tags: ['TimeoutError'],
    });
  });

  it('passes the auth request to the host, which adds the credentials', async () => {
    const ctx = recordingContext();
    await run(
      '- get:\n    call: http.get\n    args:\n      url: http://b.test/x\n      auth:\n        type: OIDC\n        audience: http://b.test\n',
      null,
      ctx,
    );
    expect(ctx.httpCalls[0]).toMatchObject({
      method: 'GET',
      auth: { type: 'OIDC', audience: 'http://b.test' },
      timeoutSeconds: 300,
    });
  });
});
