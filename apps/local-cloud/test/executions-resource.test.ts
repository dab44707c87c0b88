/**
 * The Execution resource's fields, against the Workflow Executions REST
 * reference (https://cloud.google.com/workflows/docs/reference/executions/rest/v1/projects.locations.workflows.executions)
 * and the execution-results guide (https://cloud.google.com/workflows/docs/access-execution-results):
 * status.currentSteps while active and after the end, error payload, context
 * and stackTrace, labels inherited from the workflow, createTime, orderBy.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningLocalCloud } from '../src/server.ts';
import { conformanceSource } from './conformance-cases.ts';
import { api, PARENT, removeDir, startCloud, tempDir, waitFor } from './helpers.ts';

const W = `/v1/${PARENT}/workflows`;
let dir: string;
let cloud: RunningLocalCloud;

beforeAll(async () => {
  dir = tempDir();
  cloud = await startCloud(join(dir, 'data'));
});
afterAll(async () => {
  await cloud.stop();
  removeDir(dir);
});

async function deploy(id: string, source: string, labels?: Record<string, string>) {
  const res = await api(cloud, 'POST', `${W}?workflowId=${id}`, {
    sourceContents: source,
    ...(labels === undefined ? {} : { labels }),
  });
  expect(res, JSON.stringify(res)).toMatchObject({ status: 200 });
}

// biome-ignore lint/suspicious/noExplicitAny: Google JSON.
async function start(id: string, body: Record<string, unknown> = {}): Promise<any> {
  const res = await api(cloud, 'POST', `${W}/${id}/executions`, body);
  expect(res, JSON.stringify(res)).toMatchObject({ status: 200 });
  return res.body;
}

// biome-ignore lint/suspicious/noExplicitAny: Google JSON.
async function finished(name: string): Promise<any> {
  return waitFor(
    async () => {
      const got = await api(cloud, 'GET', `/v1/${name}`);
      return got.body.state === 'ACTIVE' ? undefined : got.body;
    },
    `${name} to finish`,
    40_000,
  );
}

describe('an uncaught raised string', () => {
  it('fails the execution with the string as JSON payload, the step in context and a stack trace', async () => {
    await deploy('raise-string', conformanceSource('raise-string'));
    const done = await finished((await start('raise-string')).name);
    expect(done.state).toBe('FAILED');
    expect(done.error.payload).toBe('"disk full"');
    expect(done.error.context).toBe(
      'disk full\nin step "check_space", routine "archive", line: 14',
    );
    expect(done.error.stackTrace.elements).toEqual([
      {
        step: 'check_space',
        routine: 'archive',
        position: { line: '14', column: '7', length: '39' },
      },
      {
        step: 'delegate',
        routine: 'main',
        position: { line: '10', column: '7', length: '31' },
      },
    ]);
    // "If the workflow has succeeded or failed, this is the last attempted or executed step."
    expect(done.status).toEqual({ currentSteps: [{ routine: 'archive', step: 'check_space' }] });
  });
});

describe('status.currentSteps', () => {
  it('names the step an active execution is in (inside a subworkflow, only that step), and keeps it after a cancel', async () => {
    await deploy('waiting', conformanceSource('waiting'));
    const created = await start('waiting');
    const active = await waitFor(async () => {
      const got = await api(cloud, 'GET', `/v1/${created.name}`);
      return got.body.status?.currentSteps?.length > 0 ? got.body : undefined;
    }, 'the execution to report its step');
    expect(active.state).toBe('ACTIVE');
    expect(active.status.currentSteps).toEqual([{ routine: 'nap', step: 'snooze' }]);
    const listed = await api(cloud, 'GET', `${W}/waiting/executions?view=FULL`);
    expect(listed.body.executions[0].status.currentSteps).toEqual([
      { routine: 'nap', step: 'snooze' },
    ]);
    await api(cloud, 'POST', `/v1/${created.name}:cancel`, {});
    const done = await finished(created.name);
    expect(done.state).toBe('CANCELLED');
    expect(done.status.currentSteps).toEqual([{ routine: 'nap', step: 'snooze' }]);
  });
});

describe('labels, createTime and orderBy', () => {
  const ECHO = '- done:\n    return: 1\n';

  it('inherits the workflow labels, overridden key by key by the execution labels', async () => {
    await deploy('labelled', ECHO, { team: 'images', tier: 'gold' });
    const plain = await start('labelled');
    expect(plain.labels).toEqual({ team: 'images', tier: 'gold' });
    const own = await start('labelled', { labels: { tier: 'silver', run: 'nightly' } });
    expect(own.labels).toEqual({ team: 'images', tier: 'silver', run: 'nightly' });
    const got = await api(cloud, 'GET', `/v1/${own.name}`);
    expect(got.body.labels).toEqual(own.labels);
  });

  describe('label rules', () => {
    beforeAll(() => deploy('label-rules', ECHO));
    it.each([
      ['a key with a space and capitals', { 'Bad Key': 'v' }],
      ['a capital in a value', { team: 'UPPER' }],
      ['punctuation in a value', { team: 'images!' }],
      ['a key that starts with a digit', { '1team': 'v' }],
      ['an empty key', { '': 'v' }],
      ['a 64-character key', { [`k${'a'.repeat(63)}`]: 'v' }],
      ['a 100-character value', { team: 'v'.repeat(100) }],
      ['a value that is not a string', { team: 7 }],
      ['65 entries', Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']))],
    ])('refuses execution labels with %s (400 INVALID_ARGUMENT)', async (_what, labels) => {
      const res = await api(cloud, 'POST', `${W}/label-rules/executions`, { labels });
      expect(res, JSON.stringify(res)).toMatchObject({
        status: 400,
        body: { error: { status: 'INVALID_ARGUMENT' } },
      });
    });
  });

  it('accepts labels at the limits, international letters and empty values', async () => {
    await deploy('label-limits', ECHO);
    const labels = {
      ...Object.fromEntries(Array.from({ length: 61 }, (_, i) => [`k${i}`, 'v'])),
      [`k${'a'.repeat(62)}`]: 'v'.repeat(63),
      équipe_ラベル: 'café-値_1',
      empty: '',
    };
    const created = await start('label-limits', { labels });
    expect(created.labels).toEqual(labels);
  });

  it('refuses invalid labels on workflows.create and workflows.patch', async () => {
    const created = await api(cloud, 'POST', `${W}?workflowId=bad-labels`, {
      sourceContents: ECHO,
      labels: { Team: 'images' },
    });
    expect(created, JSON.stringify(created)).toMatchObject({ status: 400 });
    await deploy('patched-labels', ECHO, { team: 'images' });
    const patched = await api(cloud, 'PATCH', `${W}/patched-labels?updateMask=labels`, {
      labels: { team: 'x'.repeat(64) },
    });
    expect(patched, JSON.stringify(patched)).toMatchObject({
      status: 400,
      body: { error: { status: 'INVALID_ARGUMENT' } },
    });
    const got = await api(cloud, 'GET', `${W}/patched-labels`);
    expect(got.body.labels).toEqual({ team: 'images' });
  });

  it('stamps createTime at creation, equal to startTime here', async () => {
    await deploy('stamped', ECHO);
    const created = await start('stamped');
    expect(Date.parse(created.createTime)).not.toBeNaN();
    expect(created.createTime).toBe(created.startTime);
  });

  it('lists newest createTime first by default, and as orderBy says', async () => {
    await deploy('ordered', '- pick:\n    switch:\n      - condition: true\n        raise: "no"\n');
    const first = await finished((await start('ordered')).name);
    await deploy('ordered-ok', ECHO);
    await api(cloud, 'PATCH', `${W}/ordered?updateMask=sourceContents`, { sourceContents: ECHO });
    const second = await finished((await start('ordered')).name);
    const ids = (body: { executions: { name: string }[] }) =>
      body.executions.map((e) => e.name.split('/').pop());
    const idOf = (e: { name: string }) => e.name.split('/').pop();

    const byDefault = await api(cloud, 'GET', `${W}/ordered/executions`);
    expect(ids(byDefault.body)).toEqual([idOf(second), idOf(first)]);
    const oldestFirst = await api(cloud, 'GET', `${W}/ordered/executions?orderBy=createTime`);
    expect(ids(oldestFirst.body)).toEqual([idOf(first), idOf(second)]);
    const byState = await api(cloud, 'GET', `${W}/ordered/executions?orderBy=state%20desc`);
    expect(byState.body.executions.map((e: { state: string }) => e.state)).toEqual([
      'SUCCEEDED',
      'FAILED',
    ]);
    const byRevision = await api(
      cloud,
      'GET',
      `${W}/ordered/executions?orderBy=workflowRevisionId,createTime%20desc`,
    );
    expect(ids(byRevision.body)).toEqual([idOf(first), idOf(second)]);
  });

  it('refuses an orderBy field Google does not support with 400 INVALID_ARGUMENT', async () => {
    const res = await api(cloud, 'GET', `${W}/ordered/executions?orderBy=argument`);
    expect(res, JSON.stringify(res)).toMatchObject({
      status: 400,
      body: { error: { status: 'INVALID_ARGUMENT' } },
    });
  });
});

describe('executions.list filter (AIP-160)', () => {
  // Raises when args.fail is true.
  const MAYBE_FAIL = `main:\n  params: [args]\n  steps:\n    - pick:\n        switch:\n          - condition: \${args.fail}\n            raise: "no"\n    - done:\n        return: 1\n`;
  const L = `${W}/filtered/executions`;
  let failed: string;
  let succeeded: string;
  const idOf = (name: string) => name.split('/').pop();
  const listed = async (filter: string) => {
    const res = await api(cloud, 'GET', `${L}?filter=${encodeURIComponent(filter)}`);
    expect(res, JSON.stringify(res)).toMatchObject({ status: 200 });
    return (res.body.executions ?? []).map((e: { name: string }) => idOf(e.name)).sort();
  };

  beforeAll(async () => {
    await deploy('filtered', MAYBE_FAIL);
    const f = await start('filtered', { argument: '{"fail":true}', labels: { run: 'a' } });
    const s = await start('filtered', { argument: '{"fail":false}', labels: { run: 'b' } });
    failed = idOf((await finished(f.name)).name) ?? '';
    succeeded = idOf((await finished(s.name)).name) ?? '';
  });

  it('answers !=, NOT and OR on state as the comparison says', async () => {
    expect(await listed('state!="SUCCEEDED"')).toEqual([failed]);
    expect(await listed('NOT state="SUCCEEDED"')).toEqual([failed]);
    expect(await listed('-state=SUCCEEDED')).toEqual([failed]);
    expect(await listed('state="FAILED" OR state="SUCCEEDED"')).toEqual([failed, succeeded].sort());
    expect(await listed('state="SUCCEEDED"')).toEqual([succeeded]);
  });

  it('combines labels, AND, parentheses and OR binding tighter than AND', async () => {
    expect(await listed('labels.run="b"')).toEqual([succeeded]);
    expect(await listed('labels.run!="b"')).toEqual([failed]);
    expect(await listed('state="FAILED" AND labels.run="b"')).toEqual([]);
    expect(await listed('state="FAILED" labels.run="a"')).toEqual([failed]);
    // AIP-160: a AND b OR c is a AND (b OR c).
    expect(await listed('state="SUCCEEDED" AND labels.run="a" OR labels.run="b"')).toEqual([
      succeeded,
    ]);
    expect(await listed('(state="FAILED" AND labels.run="a") OR labels.run="b"')).toEqual(
      [failed, succeeded].sort(),
    );
  });

  it('compares times and the duration', async () => {
    expect(await listed('startTime>"2099-01-01T00:00:00Z"')).toEqual([]);
    expect(await listed('startTime<"2099-01-01T00:00:00Z" AND createTime>"2000-01-01"')).toEqual(
      [failed, succeeded].sort(),
    );
    expect(await listed('endTime<="2000-01-01T00:00:00Z"')).toEqual([]);
    expect(await listed('duration>="0s"')).toEqual([failed, succeeded].sort());
    expect(await listed(`executionId="${failed}"`)).toEqual([failed]);
  });

  it.each([
    'bogus_field="x"',
    'stepName="done"',
    'state="BOGUS"',
    'state>"FAILED"',
    'labels:run',
    'startTime>"yesterday"',
    // Times as strictly as everywhere else (time.ts): no zone, a rolled-over date, a space for
    // the T, a bare year and a human date are not RFC 3339 (Date.parse took each of them).
    'createTime>"2026-12-07T21:33:36"',
    'startTime>"2026-02-30"',
    'endTime<"2026-12-07 21:33:36Z"',
    'startTime>"5"',
    'createTime>"Dec 7 2026"',
    '(state="FAILED"',
    'state="FAILED")',
    'state=',
    'SUCCEEDED',
  ])('refuses %s with 400 INVALID_ARGUMENT', async (filter) => {
    const res = await api(cloud, 'GET', `${L}?filter=${encodeURIComponent(filter)}`);
    expect(res, JSON.stringify(res)).toMatchObject({
      status: 400,
      body: { error: { status: 'INVALID_ARGUMENT' } },
    });
  });
});

describe('the BASIC view', () => {
  it('holds only the six fields Google lists, and is what a list answers by default', async () => {
    await deploy('viewed', '- done:\n    return: 1\n', { team: 'images' });
    const created = await start('viewed', { argument: '{"a":1}' });
    await finished(created.name);
    const expected = ['duration', 'endTime', 'name', 'startTime', 'state', 'workflowRevisionId'];
    const byDefault = await api(cloud, 'GET', `${W}/viewed/executions`);
    expect(Object.keys(byDefault.body.executions[0]).sort()).toEqual(expected);
    const basic = await api(cloud, 'GET', `/v1/${created.name}?view=BASIC`);
    expect(Object.keys(basic.body).sort()).toEqual(expected);
    const full = await api(cloud, 'GET', `${W}/viewed/executions?view=FULL`);
    expect(full.body.executions[0]).toMatchObject({
      argument: '{"a":1}',
      labels: { team: 'images' },
      callLogLevel: 'CALL_LOG_LEVEL_UNSPECIFIED',
      status: { currentSteps: [{ routine: 'main', step: 'done' }] },
    });
  });
});

describe('callLogLevel', () => {
  it('takes a CallLogLevel by name or number, stores the name, and refuses anything else', async () => {
    await deploy('logged', '- done:\n    return: 1\n');
    expect((await start('logged', { callLogLevel: 2 })).callLogLevel).toBe('LOG_ERRORS_ONLY');
    expect((await start('logged', { callLogLevel: 'LOG_NONE' })).callLogLevel).toBe('LOG_NONE');
    expect((await start('logged')).callLogLevel).toBe('CALL_LOG_LEVEL_UNSPECIFIED');
    for (const callLogLevel of ['BOGUS', 9, true]) {
      const res = await api(cloud, 'POST', `${W}/logged/executions`, { callLogLevel });
      expect(res, JSON.stringify(res)).toMatchObject({
        status: 400,
        body: { error: { status: 'INVALID_ARGUMENT' } },
      });
    }
  });

  it('holds workflows to the same enum on create and patch', async () => {
    const created = await api(cloud, 'POST', `${W}?workflowId=logged-wf`, {
      sourceContents: '- done:\n    return: 1\n',
      callLogLevel: 1,
    });
    expect(created.body.response.callLogLevel).toBe('LOG_ALL_CALLS');
    const bad = await api(cloud, 'POST', `${W}?workflowId=logged-bad`, {
      sourceContents: '- done:\n    return: 1\n',
      callLogLevel: 'BOGUS',
    });
    expect(bad, JSON.stringify(bad)).toMatchObject({ status: 400 });
    const patched = await api(cloud, 'PATCH', `${W}/logged-wf?updateMask=callLogLevel`, {
      callLogLevel: 'LOUD',
    });
    expect(patched, JSON.stringify(patched)).toMatchObject({ status: 400 });
    expect((await api(cloud, 'GET', `${W}/logged-wf`)).body.callLogLevel).toBe('LOG_ALL_CALLS');
  });
});
