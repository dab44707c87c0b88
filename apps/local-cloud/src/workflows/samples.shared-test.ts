import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { findSharedDir } from '@slideshow/tools/shared-dir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchHttp } from './fetch-http.ts';
import { parseWorkflow } from './index.ts';
import { closedPortUrl, recordingContext, run } from './test-support.ts';

const shared = findSharedDir();
if (shared === undefined)
  throw new Error('../shared is missing: this suite runs only where it exists');
const samples = join(shared, 'workflows-samples');
const source = (name: string) => readFileSync(join(samples, `${name}.workflows.yaml`), 'utf8');

/** Expected results, from each sample's comments and Google's documentation of it. */
const PURE: [string, unknown, unknown][] = [
  // "Current temperature is 80.6 F": 27 * 9 / 5 + 32, `/` yields a double.
  ['expression', null, 'Current temperature is 80.6 F'],
  // The dictionary, list and vars samples only assign; a workflow without return returns null.
  ['dictionary', null, null],
  ['list', null, null],
  ['vars', null, null],
  ['iterate_for_range', null, 45],
  ['iterate_list', null, 15],
  ['iterate_map', null, 60],
  ['subworkflow', null, 'Hello Kristof'],
  ['array', null, { concat_result: 'foobar' }],
  ['args', { firstName: 'Sherlock', lastName: 'Holmes' }, 'Hello Sherlock Holmes'],
];

describe('the pure-computation samples of GoogleCloudPlatform/workflows-samples', () => {
  it.each(PURE)('runs %s and returns what Google documents', async (name, argument, expected) => {
    expect(await run(source(name), argument)).toEqual(expected);
  });
});

describe('the samples that call HTTP or connectors', () => {
  let server: Server;
  let base = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      const status = req.url?.startsWith('/missing')
        ? 404
        : req.url?.startsWith('/forbidden')
          ? 403
          : 200;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ path: req.url }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it.each([
    'error_catch',
    'error_retry_custom',
    'connect_run',
    'connector_run',
    'connector_workflowexecutions',
    'connector_cloudtasks',
  ])('parses %s', (name) => {
    expect(parseWorkflow(source(name)).subworkflows.has('main')).toBe(true);
  });

  it('runs connect_run against a loopback server, sending the query', async () => {
    const text = source('connect_run').replace(
      'https://example-12345-ew.a.run.app',
      `${base}/hello`,
    );
    expect(await run(text, null, recordingContext({ http: fetchHttp }))).toEqual({
      path: '/hello?some_val=Hello+World&another_val=123',
    });
  });

  it('runs error_catch and maps a 404 to its "not found" branch', async () => {
    const text = source('error_catch').replace('https://example.com/someapi', `${base}/missing`);
    expect(await run(text, null, recordingContext({ http: fetchHttp }))).toBe(
      "Sorry, URL wasn't found",
    );
  });

  it('runs error_catch: a 403 takes the authentication branch, a 200 returns the body', async () => {
    const ctx = recordingContext({ http: fetchHttp });
    const forbidden = source('error_catch').replace(
      'https://example.com/someapi',
      `${base}/forbidden`,
    );
    expect(await run(forbidden, null, ctx)).toBe('Authentication error');
    const found = source('error_catch').replace('https://example.com/someapi', `${base}/item`);
    expect(await run(found, null, ctx)).toEqual({ path: '/item' });
    expect(ctx.httpCalls[0]?.auth).toEqual({ type: 'OIDC', audience: `${base}/forbidden` });
  });

  it('runs error_catch and maps a refused connection to its connection branch', async () => {
    const text = source('error_catch').replace(
      'https://example.com/someapi',
      `${await closedPortUrl()}/x`,
    );
    expect(await run(text, null, recordingContext({ http: fetchHttp }))).toBe(
      'Connection problem; check URL',
    );
  });

  it('runs error_retry_custom: a 404 is not retried by the default predicate', async () => {
    const text = source('error_retry_custom').replace(
      'https://example.com/someapi',
      `${base}/missing`,
    );
    const ctx = recordingContext({ http: fetchHttp });
    await expect(run(text, null, ctx)).rejects.toMatchObject({
      value: { code: 404, tags: ['HttpError'] },
    });
    expect(ctx.sleeps).toEqual([]);
  });

  it('runs connector_workflowexecutions with fake connectors and returns both results', async () => {
    const ctx = recordingContext({
      env: { GOOGLE_CLOUD_PROJECT_ID: 'demo' },
      connectors: {
        'googleapis.workflowexecutions.v1.projects.locations.workflows.executions.run': async (
          args,
        ) => ({ run: args }),
        'googleapis.workflowexecutions.v1.projects.locations.workflows.executions.create': async (
          args,
        ) => ({ created: args }),
      },
    });
    const result = (await run(source('connector_workflowexecutions'), null, ctx)) as unknown[];
    expect(result[0]).toMatchObject({
      run: { project_id: 'demo', argument: { hello: 'world', integer: 100 } },
    });
    expect(result[1]).toMatchObject({
      created: { body: { argument: '{"hello":"world","integer":100,"boolean":true}' } },
    });
  });

  it('runs connector_run with fake connectors and returns the delete response', async () => {
    const prefix = 'googleapis.run.v1.namespaces.services';
    const ctx = recordingContext({
      env: { GOOGLE_CLOUD_PROJECT_ID: 'demo' },
      connectors: {
        [`${prefix}.create`]: async (args) => ({
          metadata: (args.body as { metadata: unknown }).metadata,
        }),
        [`${prefix}.get`]: async (args) => ({ name: args.name }),
        [`${prefix}.delete`]: async () => ({ status: 'Success' }),
      },
    });
    expect(await run(source('connector_run'), null, ctx)).toEqual({ status: 'Success' });
    expect(ctx.connectorCalls[0]?.args).toMatchObject({
      location: 'us-central1',
      parent: 'namespaces/demo',
      body: { metadata: { name: 'test-service', namespace: 'demo' } },
    });
  });

  it('runs connector_cloudtasks with fake connectors and returns SUCCESS', async () => {
    const ok = async (args: Record<string, unknown>) => ({
      name: (args.body as { name?: string } | undefined)?.name ?? args.name ?? 'x',
    });
    const prefix = 'googleapis.cloudtasks.v2.projects.locations.queues';
    const ctx = recordingContext({
      env: { GOOGLE_CLOUD_PROJECT_ID: 'demo' },
      connectors: {
        [`${prefix}.create`]: ok,
        [`${prefix}.tasks.create`]: async (args) => ({
          name: (args.body as { task: { name: string } }).task.name,
        }),
        [`${prefix}.tasks.get`]: ok,
        [`${prefix}.tasks.delete`]: ok,
        [`${prefix}.delete`]: ok,
      },
    });
    expect(await run(source('connector_cloudtasks'), null, ctx)).toBe('SUCCESS');
    expect(ctx.connectorCalls.map((c) => c.name.slice(prefix.length))).toEqual([
      '.create',
      '.tasks.create',
      '.tasks.get',
      '.tasks.delete',
      '.delete',
    ]);
  });
});
