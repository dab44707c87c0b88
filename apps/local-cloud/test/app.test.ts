import { silentLogger } from '@slideshow/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { createLocalCloud } from '../src/app.ts';
import { openDatabase } from '../src/db.ts';

// createLocalCloud is pure: without start() nothing runs in the background,
// and requests can be driven as web Requests, like hono's app.request().
const db = openDatabase(':memory:');
const TOKEN = 'oauth-token-for-app-tests';
const cloud = createLocalCloud({
  db,
  logger: silentLogger,
  oauthToken: TOKEN,
  oidcToken: 'oidc-token-for-app-tests',
  workdir: '.',
  killGraceMs: 100,
  hostEnv: {},
});
afterAll(() => db.close());

async function call(method: string, path: string, payload?: string) {
  const res = await cloud.fetch(
    new Request(`http://127.0.0.1${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}` },
      ...(payload === undefined ? {} : { body: payload }),
    }),
  );
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary Google JSON.
  const body: any = await res.json();
  return { status: res.status, type: res.headers.get('content-type'), body };
}

describe('the local-cloud app', () => {
  it('serves Cloud Tasks through web Requests without being started', async () => {
    const res = await call(
      'POST',
      '/v2/projects/a/locations/b/queues',
      '{"name":"projects/a/locations/b/queues/q"}',
    );
    expect(res).toMatchObject({
      status: 200,
      type: 'application/json; charset=UTF-8',
      body: { state: 'RUNNING' },
    });
  });

  it('answers an unknown path with 404 NOT_FOUND in Google’s error shape', async () => {
    expect(await call('GET', '/v9/nothing')).toMatchObject({
      status: 404,
      body: { error: { code: 404, status: 'NOT_FOUND', message: 'Unknown path: /v9/nothing' } },
    });
  });

  it('answers a method a path does not support with 501 UNIMPLEMENTED', async () => {
    const res = await call('PUT', '/v2/projects/a/locations/b/queues');
    expect(res.body.error).toMatchObject({ code: 501, status: 'UNIMPLEMENTED' });
  });

  it('answers a body that is not JSON with 400 INVALID_ARGUMENT', async () => {
    const res = await call('POST', '/v2/projects/a/locations/b/queues', '{not json');
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/^Invalid JSON payload/);
  });

  it('accepts the numeric enums the client libraries send with enum-encoding=int', async () => {
    await call(
      'POST',
      '/v2/projects/a/locations/b/queues',
      '{"name":"projects/a/locations/b/queues/ints"}',
    );
    const res = await call(
      'POST',
      '/v2/projects/a/locations/b/queues/ints/tasks?$alt=json%3Benum-encoding%3Dint',
      JSON.stringify({
        task: { httpRequest: { url: 'http://127.0.0.1:9/', httpMethod: 4 } },
        responseView: 2,
      }),
    );
    expect(res.body).toMatchObject({ httpRequest: { httpMethod: 'PUT' }, view: 'FULL' });
  });

  it('answers a malformed escape in the path with 400 INVALID_ARGUMENT rather than a crash', async () => {
    const res = await call('GET', '/v2/projects/%E0%A4%A/locations');
    expect(res.status).toBe(400);
    expect(res.body.error.status).toBe('INVALID_ARGUMENT');
  });

  it('refuses an execution argument over the 32KB limit', async () => {
    await call(
      'POST',
      '/v1/projects/a/locations/b/workflows?workflowId=w',
      JSON.stringify({ sourceContents: 'main:\n  steps:\n    - r:\n        return: 1\n' }),
    );
    const res = await cloud.fetch(
      new Request('http://127.0.0.1/v1/projects/a/locations/b/workflows/w/executions', {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ argument: JSON.stringify({ big: 'x'.repeat(33 * 1024) }) }),
      }),
    );
    expect(res.status).toBe(400);
  });
});
