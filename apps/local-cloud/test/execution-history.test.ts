/**
 * executions.list over a long history: a page reads a page (rows parsed are
 * counted by the store), page tokens are positions that visit every
 * execution once in the documented order, the filter's state and label
 * equalities are applied in SQL, and a filter that keeps nothing ends a call
 * after a bounded scan with a token to go on from. Cloud Run job executions
 * (v2 and v1, over HTTP) page the same way. A real SQLite file, the real routes.
 */
import { join } from 'node:path';
import { createLogger } from '@slideshow/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDatabase } from '../src/db.ts';
import { createOperationsStore } from '../src/operations.ts';
import { SCAN_BUDGET } from '../src/paging.ts';
import { createRouter, type Router } from '../src/router.ts';
import type { Execution } from '../src/run/model.ts';
import { createRunStore } from '../src/run/store.ts';
import { sampleJob, sampleTemplate } from '../src/run/test-support.ts';
import type { RunningLocalCloud } from '../src/server.ts';
import { registerWorkflowsRoutes } from '../src/workflows-api/routes.ts';
import {
  createWorkflowsStore,
  type WorkflowExecution,
  type WorkflowsStore,
} from '../src/workflows-api/store.ts';
import { api, apiViaProxy, PARENT, removeDir, startCloud, tempDir } from './helpers.ts';

const WORKFLOW = `${PARENT}/workflows/w`;
const LIST = `/v1/${WORKFLOW}/executions`;
/** More than SCAN_BUDGET, so a filter that keeps nothing cannot read them all in one call. */
const COUNT = 6000;
const BASE = Date.parse('2026-01-01T00:00:00.000Z');

let dir: string;
let db: Db;
let store: WorkflowsStore;
let router: Router;
/** Every stored execution, in insertion (seq) order. */
const stored: WorkflowExecution[] = [];

/** Execution i: three share each createTime (ties), states and durations vary, a label per 1,000. */
function execution(i: number): WorkflowExecution {
  const start = new Date(BASE + Math.floor(i / 3) * 1000).toISOString();
  const seconds = (i * 7) % 50;
  return {
    name: `${WORKFLOW}/executions/${String((i * 7919) % COUNT).padStart(5, '0')}-e${i}`,
    createTime: start,
    startTime: start,
    endTime: new Date(BASE + Math.floor(i / 3) * 1000 + seconds * 1000).toISOString(),
    duration: `${seconds}s`,
    state: i % 10 === 0 ? 'FAILED' : 'SUCCEEDED',
    argument: JSON.stringify({ i, padding: 'x'.repeat(200) }),
    workflowRevisionId: `00000${1 + (i % 3)}-abc`,
    callLogLevel: 'CALL_LOG_LEVEL_UNSPECIFIED',
    labels: { dispatch_key: `k-${i % 1000}`, batch: `b-${i % 2}` },
  };
}

beforeAll(() => {
  dir = tempDir();
  db = openDatabase(join(dir, 'local-cloud.db'));
  store = createWorkflowsStore(db);
  db.transaction(() => {
    for (let i = 0; i < COUNT; i++) {
      const e = execution(i);
      stored.push(e);
      store.putExecution(e);
    }
  })();
  router = createRouter(createLogger({ level: 'ERROR' }), () => undefined);
  registerWorkflowsRoutes(router, {
    store,
    operations: createOperationsStore(db),
    runner: () => {
      throw new Error('no execution here is ACTIVE: the runner is never asked');
    },
  });
});
afterAll(() => {
  db.close();
  removeDir(dir);
});

interface ListBody {
  executions?: { name: string; state: string }[];
  nextPageToken?: string;
}

async function list(query: Record<string, string>): Promise<ListBody> {
  const url = `http://127.0.0.1${LIST}?${new URLSearchParams(query)}`;
  const res = await router.handle(new Request(url));
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return JSON.parse(text) as ListBody;
}

/** Every page from the first, following nextPageToken; the names in the order returned. */
async function listAll(query: Record<string, string>): Promise<{ names: string[]; calls: number }> {
  const names: string[] = [];
  let token: string | undefined;
  let calls = 0;
  do {
    const page = await list(token === undefined ? query : { ...query, pageToken: token });
    calls++;
    names.push(...(page.executions ?? []).map((e) => e.name));
    token = page.nextPageToken;
  } while (token !== undefined);
  return { names, calls };
}

/** The documented order, computed here: keys in turn, ties newest stored first. */
function expected(
  keys: { key: (e: WorkflowExecution) => string | number; desc: boolean }[],
  keep: (e: WorkflowExecution) => boolean = () => true,
): string[] {
  const seq = new Map(stored.map((e, i) => [e.name, i]));
  return stored
    .filter(keep)
    .sort((a, b) => {
      for (const { key, desc } of keys) {
        const x = key(a);
        const y = key(b);
        if (x !== y) return (x < y ? -1 : 1) * (desc ? -1 : 1);
      }
      return (seq.get(b.name) ?? 0) - (seq.get(a.name) ?? 0);
    })
    .map((e) => e.name);
}

const createTime = (e: WorkflowExecution) => e.createTime ?? '';

describe('executions.list over a long history', () => {
  it('parses only the page and one more row for a pageSize=1 list of 6,000 executions', async () => {
    const before = store.rowsParsed();
    const page = await list({ pageSize: '1' });
    expect(page.executions?.map((e) => e.name)).toEqual([
      expected([{ key: createTime, desc: true }])[0],
    ]);
    expect(page.nextPageToken).toBeDefined();
    expect(store.rowsParsed() - before).toBeLessThanOrEqual(2);
  });

  it('visits every execution exactly once through the page tokens, newest createTime first', async () => {
    const before = store.rowsParsed();
    const { names, calls } = await listAll({ pageSize: '250' });
    expect(calls).toBe(COUNT / 250);
    expect(new Set(names).size).toBe(COUNT);
    expect(names).toEqual(expected([{ key: createTime, desc: true }]));
    // Each page reads its own rows and the next one: no call re-reads the pages before it.
    expect(store.rowsParsed() - before).toBeLessThanOrEqual(COUNT + calls);
  });

  it('pages other orders too, each execution once, mixed directions included', async () => {
    const id = (e: WorkflowExecution) => e.name.split('/').pop() ?? '';
    const duration = (e: WorkflowExecution) => Number.parseFloat(e.duration ?? '-1');
    const cases: [string, Parameters<typeof expected>[0]][] = [
      ['startTime desc', [{ key: (e) => e.startTime, desc: true }]],
      ['executionId', [{ key: id, desc: false }]],
      [
        'state, duration desc, createTime',
        [
          { key: (e) => e.state, desc: false },
          { key: duration, desc: true },
          { key: createTime, desc: false },
        ],
      ],
      [
        'workflowRevisionId desc, endTime',
        [
          { key: (e) => e.workflowRevisionId, desc: true },
          { key: (e) => e.endTime ?? '', desc: false },
        ],
      ],
    ];
    for (const [orderBy, keys] of cases) {
      const { names } = await listAll({ pageSize: '700', orderBy });
      expect(names, orderBy).toEqual(expected(keys));
    }
  });

  it('finds the executions of one dispatch_key label by an index, reading only those rows', async () => {
    const before = store.rowsParsed();
    const page = await list({
      filter: 'labels.dispatch_key="k-417"',
      orderBy: 'startTime desc',
      pageSize: '10',
      view: 'FULL',
    });
    const keep = (e: WorkflowExecution) => e.labels?.dispatch_key === 'k-417';
    expect(page.executions?.map((e) => e.name)).toEqual(
      expected([{ key: (e) => e.startTime, desc: true }], keep),
    );
    expect(page.executions).toHaveLength(COUNT / 1000);
    expect(store.rowsParsed() - before).toBe(COUNT / 1000);
  });

  it('applies state in SQL and the rest of the filter to the rows read, across pages', async () => {
    const cutoff = new Date(BASE + 1500 * 1000).toISOString();
    const { names } = await listAll({
      filter: `state="FAILED" AND createTime>="${cutoff}" OR labels.batch="b-1"`,
      pageSize: '7',
    });
    const keep = (e: WorkflowExecution) =>
      e.state === 'FAILED' && (createTime(e) >= cutoff || e.labels?.batch === 'b-1');
    expect(names).toEqual(expected([{ key: createTime, desc: true }], keep));
    expect(names.length).toBeGreaterThan(0);
  });

  it('ends a call after a bounded scan when the filter keeps nothing, with a token to go on from', async () => {
    const before = store.rowsParsed();
    const first = await list({ filter: 'executionId="none-such"', pageSize: '1' });
    expect(first.executions ?? []).toEqual([]);
    expect(first.nextPageToken).toBeDefined();
    expect(store.rowsParsed() - before).toBeLessThan(SCAN_BUDGET + 300);
    const { names, calls } = await listAll({ filter: 'executionId="none-such"', pageSize: '1' });
    expect(names).toEqual([]);
    expect(calls).toBe(2);
  });

  it('reads no further than the page: an unreadable oldest row does not break a pageSize=1 list', async () => {
    const other = `${PARENT}/workflows/torn-history`;
    for (let i = 0; i < 3; i++) {
      store.putExecution({ ...execution(i), name: `${other}/executions/r${i}` });
    }
    db.prepare('UPDATE executions SET data = \'{"name": "to\' WHERE name = ?').run(
      `${other}/executions/r0`,
    );
    const url = (q: string) => `http://127.0.0.1/v1/${other}/executions?${q}`;
    const first = await router.handle(new Request(url('pageSize=1')));
    const text = await first.text();
    expect(first.status, text).toBe(200);
    expect(JSON.parse(text).executions.map((e: { name: string }) => e.name)).toEqual([
      `${other}/executions/r2`,
    ]);
    // A list that reaches it goes on without it.
    const all = await router.handle(new Request(url('pageSize=10')));
    const body = await all.text();
    expect(all.status, body).toBe(200);
    expect(JSON.parse(body).executions).toHaveLength(2);
  });

  it('refuses a page token it did not make, and one made for another orderBy', async () => {
    const token = (await list({ pageSize: '1' })).nextPageToken ?? '';
    const queries: Record<string, string>[] = [
      { pageToken: 'MTA' }, // an offset, as earlier local-clouds made them
      { pageToken: token, orderBy: 'state, createTime' },
    ];
    for (const query of queries) {
      const res = await router.handle(
        new Request(`http://127.0.0.1${LIST}?${new URLSearchParams(query)}`),
      );
      const text = await res.text();
      expect(res.status, text).toBe(400);
      expect(text).toMatch(/Invalid page token/);
    }
  });
});

describe('Cloud Run job executions over a long history', () => {
  const JOB = `${PARENT}/jobs/processor`;
  const RUNS = 40;
  let cloudDir: string;
  let cloud: RunningLocalCloud;
  /** Execution names, newest first. */
  const names: string[] = [];

  beforeAll(async () => {
    cloudDir = tempDir();
    const dataDir = join(cloudDir, 'data');
    const seeded = openDatabase(join(dataDir, 'local-cloud.db'));
    const runs = createRunStore(seeded);
    runs.putJob({ ...sampleJob(), name: JOB });
    for (let i = 0; i < RUNS; i++) {
      const name = `${JOB}/executions/processor-${String(i).padStart(5, '0')}`;
      // Recent (a minute ago and on), so no retention period prunes them.
      const t = new Date(Date.now() - 60_000 + i * 1000).toISOString();
      const execution: Execution = {
        name,
        uid: `uid-${i}`,
        job: 'processor',
        createTime: t,
        startTime: t,
        completionTime: t,
        updateTime: t,
        launchStage: 'GA',
        parallelism: 1,
        taskCount: 1,
        template: sampleTemplate.template,
        reconciling: false,
        conditions: [],
        runningCount: 0,
        succeededCount: 1,
        failedCount: 0,
        cancelledCount: 0,
        retriedCount: 0,
        etag: `e-${i}`,
      };
      runs.putExecution(execution, true);
      names.unshift(name);
    }
    seeded.close();
    cloud = await startCloud(dataDir);
  });
  afterAll(async () => {
    await cloud?.stop();
    removeDir(cloudDir);
  });

  it('pages v2 executions.list by position: each run once, newest first', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const query = `pageSize=7${token === undefined ? '' : `&pageToken=${token}`}`;
      const res = await api(cloud, 'GET', `/v2/${JOB}/executions?${query}`);
      expect(res.status, JSON.stringify(res)).toBe(200);
      seen.push(...res.body.executions.map((e: { name: string }) => e.name));
      token = res.body.nextPageToken;
    } while (token !== undefined);
    expect(seen).toEqual(names);
  });

  it('pages v1 executions (limit, continue) with a label selector: each run once, newest first', async () => {
    const selector = encodeURIComponent('run.googleapis.com/job = processor');
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const query = `labelSelector=${selector}&limit=9${token === undefined ? '' : `&continue=${token}`}`;
      const res = await apiViaProxy(
        cloud,
        'us-central1',
        'GET',
        `/apis/run.googleapis.com/v1/namespaces/p1/executions?${query}`,
      );
      expect(res.status, JSON.stringify(res)).toBe(200);
      seen.push(...res.body.items.map((e: { metadata: { name: string } }) => e.metadata.name));
      token = res.body.metadata.continue;
    } while (token !== undefined);
    expect(seen).toEqual(names.map((n) => n.split('/').pop()));
  });
});
