/**
 * Pruning of finished history (src/history.ts): workflow executions and job
 * executions that ended more than the retention period ago go, with their
 * labels, connector calls, run records, task attempts, cancel records and
 * operations; ACTIVE ones, unfinished job runs and a job run an ACTIVE
 * workflow execution started stay. Also: rows stored before migration 8 are
 * listed and pruned like new ones. A real SQLite file, the real stores.
 */
import { join } from 'node:path';
import { createLogger } from '@slideshow/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Db, openDatabase } from '../src/db.ts';
import {
  createHistoryPruner,
  HISTORY_RETENTION_MS,
  PRUNE_BATCH,
  startHistorySweep,
} from '../src/history.ts';
import { createOperationsStore, type OperationsStore } from '../src/operations.ts';
import { createConnectorCalls } from '../src/run/connector.ts';
import type { Execution } from '../src/run/model.ts';
import { createRunStore, type RunStore } from '../src/run/store.ts';
import { DEFAULT_ORDER } from '../src/workflows-api/list-order.ts';
import {
  createWorkflowsStore,
  type WorkflowExecution,
  type WorkflowsStore,
} from '../src/workflows-api/store.ts';
import { api, PARENT, removeDir, startCloud, tempDir } from './helpers.ts';

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.parse('2026-12-07T12:00:00.000Z');
const WORKFLOW = `${PARENT}/workflows/process-image`;
const JOB = `${PARENT}/jobs/processor`;
const iso = (ms: number) => new Date(ms).toISOString();

let dir: string;
let db: Db;
let workflows: WorkflowsStore;
let runs: RunStore;
let operations: OperationsStore;

beforeEach(() => {
  dir = tempDir();
  db = openDatabase(join(dir, 'local-cloud.db'));
  workflows = createWorkflowsStore(db);
  runs = createRunStore(db);
  operations = createOperationsStore(db);
});
afterEach(() => {
  db.close();
  removeDir(dir);
});

/** A workflow execution started `startedAgo` before NOW, ended `endedAgo` before NOW unless ACTIVE. */
function putWorkflowExecution(id: string, startedAgo: number, endedAgo?: number): string {
  const name = `${WORKFLOW}/executions/${id}`;
  const e: WorkflowExecution = {
    name,
    createTime: iso(NOW - startedAgo),
    startTime: iso(NOW - startedAgo),
    state: endedAgo === undefined ? 'ACTIVE' : 'SUCCEEDED',
    argument: '{}',
    workflowRevisionId: '000001-abc',
    callLogLevel: 'CALL_LOG_LEVEL_UNSPECIFIED',
    labels: { dispatch_key: id },
  };
  if (endedAgo !== undefined) e.endTime = iso(NOW - endedAgo);
  workflows.putExecution(e);
  return name;
}

/** A job execution with one attempt and its jobs.run operation; done `endedAgo` before NOW unless omitted. */
function putJobExecution(id: string, endedAgo?: number): { name: string; operation: string } {
  const name = `${JOB}/executions/${id}`;
  const execution = {
    name,
    uid: id,
    job: 'processor',
    createTime: iso(NOW - 30 * DAY),
    updateTime: iso(NOW - 30 * DAY),
    ...(endedAgo === undefined ? {} : { completionTime: iso(NOW - endedAgo) }),
  } as unknown as Execution;
  runs.putExecution(execution, endedAgo !== undefined);
  runs.startAttempt(name, 0, 0, null, NOW - 30 * DAY);
  runs.endAttempt(name, 0, 0, 'succeeded', 0, 'done', NOW - 30 * DAY);
  runs.requestCancel(name);
  const operation = operations.newName(PARENT);
  operations.put(operation, { kind: 'job-execution', name: operation, execution: name });
  return { name, operation };
}

const count = (sql: string, ...params: unknown[]) =>
  (db.prepare(sql).get(...params) as { n: number }).n;

function sweeper(retentionMs: number) {
  return startHistorySweep({
    pruner: createHistoryPruner(db),
    retentionMs,
    intervalMs: DAY,
    now: () => NOW,
    logger: createLogger({ level: 'ERROR' }),
  });
}

describe('the history sweep', () => {
  it('deletes what ended before the retention period with what hangs off it, and keeps the rest', async () => {
    const calls = createConnectorCalls(db);
    const oldDone = putWorkflowExecution('old-done', 9 * DAY, 8 * DAY);
    const recentDone = putWorkflowExecution('recent-done', 2 * DAY, 1 * DAY);
    const oldActive = putWorkflowExecution('old-active', 30 * DAY);
    const oldJob = putJobExecution('processor-old01', 8 * DAY);
    const recentJob = putJobExecution('processor-new01', 1 * DAY);
    const runningJob = putJobExecution('processor-run01');
    // The ACTIVE workflow execution started this (long finished) job run: a re-run joins it.
    const joinedJob = putJobExecution('processor-join1', 20 * DAY);
    calls.put(oldDone, 0, oldJob.operation);
    calls.put(oldActive, 0, joinedJob.operation);
    workflows.beginRun(oldDone);

    const sweep = sweeper(HISTORY_RETENTION_MS);
    await sweep.sweep();
    await sweep.stop();

    expect(workflows.getExecution(oldDone)).toBeUndefined();
    expect(workflows.getExecution(recentDone)?.state).toBe('SUCCEEDED');
    expect(workflows.getExecution(oldActive)?.state).toBe('ACTIVE');
    expect(count('SELECT COUNT(*) AS n FROM execution_labels WHERE execution = ?', oldDone)).toBe(
      0,
    );
    expect(count('SELECT COUNT(*) AS n FROM execution_labels')).toBe(2);
    expect(count('SELECT COUNT(*) AS n FROM connector_calls WHERE execution = ?', oldDone)).toBe(0);
    expect(workflows.unfinishedRuns(oldDone)).toBe(0);
    expect(calls.get(oldActive, 0)).toBe(joinedJob.operation);

    expect(runs.getExecution(oldJob.name)).toBeUndefined();
    expect(runs.attempts(oldJob.name)).toEqual([]);
    expect(runs.nameInUse(oldJob.name)).toBe(false);
    expect(operations.get(oldJob.operation)).toBeUndefined();
    expect(
      count('SELECT COUNT(*) AS n FROM job_execution_cancels WHERE name = ?', oldJob.name),
    ).toBe(0);
    for (const kept of [recentJob, runningJob, joinedJob]) {
      expect(runs.getExecution(kept.name)?.name).toBe(kept.name);
      expect(runs.attempts(kept.name)).toHaveLength(1);
      expect(operations.get(kept.operation)).toMatchObject({ execution: kept.name });
    }
  });

  it('works through a long history in batches of PRUNE_BATCH', async () => {
    const total = PRUNE_BATCH * 2 + 17;
    db.transaction(() => {
      for (let i = 0; i < total; i++) {
        putWorkflowExecution(`old-${i}`, 10 * DAY, 9 * DAY - i);
        putJobExecution(`processor-o${String(i).padStart(4, '0')}`, 9 * DAY - i);
      }
    })();
    putWorkflowExecution('recent', 1 * DAY, 1 * DAY);
    const sweep = sweeper(HISTORY_RETENTION_MS);
    await sweep.sweep();
    await sweep.stop();
    expect(count('SELECT COUNT(*) AS n FROM executions')).toBe(1);
    expect(count('SELECT COUNT(*) AS n FROM job_executions')).toBe(0);
    expect(count('SELECT COUNT(*) AS n FROM job_task_attempts')).toBe(0);
    expect(count('SELECT COUNT(*) AS n FROM operations')).toBe(0);
  });

  it('keeps everything with a retention of 0', async () => {
    putWorkflowExecution('ancient', 400 * DAY, 399 * DAY);
    putJobExecution('processor-anc01', 399 * DAY);
    const sweep = sweeper(0);
    expect(await sweep.sweep()).toEqual({ executions: 0, jobExecutions: 0 });
    await sweep.stop();
    expect(count('SELECT COUNT(*) AS n FROM executions')).toBe(1);
    expect(count('SELECT COUNT(*) AS n FROM job_executions')).toBe(1);
  });
});

describe('rows stored before migration 8', () => {
  it('are listed by label and in order, and pruned, once the migration has filled their columns', async () => {
    const path = join(dir, 'local-cloud.db');
    const rows = [
      { id: 'a', start: NOW - 10 * DAY, end: NOW - 9 * DAY, state: 'SUCCEEDED' },
      { id: 'b', start: NOW - 2 * DAY, end: NOW - 2 * DAY, state: 'FAILED' },
      { id: 'c', start: NOW - 1 * DAY, end: undefined, state: 'ACTIVE' },
    ];
    // As an earlier local-cloud (or the soak probe's sqlite3) wrote them: no create_time, end_ms or labels rows.
    const insert = db.prepare(
      'INSERT INTO executions (name, workflow, seq, state, data) VALUES (?, ?, ?, ?, ?)',
    );
    rows.forEach((r, i) => {
      const data = {
        name: `${WORKFLOW}/executions/${r.id}`,
        startTime: iso(r.start),
        ...(r.end === undefined ? {} : { endTime: iso(r.end) }),
        state: r.state,
        labels: { dispatch_key: `key-${r.id}` },
      };
      insert.run(data.name, WORKFLOW, i + 1, r.state, JSON.stringify(data));
    });
    insert.run(`${WORKFLOW}/executions/torn`, WORKFLOW, 9, 'SUCCEEDED', '{"name": "torn');
    db.pragma('user_version = 7');
    db.close();
    db = openDatabase(path);
    workflows = createWorkflowsStore(db);

    const page = (labels: [string, string][]) =>
      workflows
        .pageExecutions({ workflow: WORKFLOW, order: DEFAULT_ORDER, states: [], labels, limit: 10 })
        .map((r) => r.execution?.name.split('/').pop());
    expect(page([])).toEqual(['c', 'b', 'a']);
    expect(page([['dispatch_key', 'key-b']])).toEqual(['b']);

    const sweep = startHistorySweep({
      pruner: createHistoryPruner(db),
      retentionMs: HISTORY_RETENTION_MS,
      now: () => NOW,
      logger: createLogger({ level: 'ERROR' }),
    });
    await sweep.sweep();
    await sweep.stop();
    expect(page([])).toEqual(['c', 'b']);
    // The torn row counts as ended when the migration ran (the real clock): within the retention.
    expect(count("SELECT COUNT(*) AS n FROM executions WHERE name LIKE '%/torn'")).toBe(1);
  });
});

describe('a local-cloud', () => {
  it('sweeps when it starts: what ended 8 days ago is gone, what ended an hour ago stays', async () => {
    const path = join(dir, 'local-cloud.db');
    const now = Date.now();
    const put = (id: string, endedAgo: number) => {
      const name = `${WORKFLOW}/executions/${id}`;
      workflows.putExecution({
        name,
        createTime: iso(now - endedAgo - 1000),
        startTime: iso(now - endedAgo - 1000),
        endTime: iso(now - endedAgo),
        state: 'SUCCEEDED',
        argument: '{}',
        workflowRevisionId: '000001-abc',
        callLogLevel: 'CALL_LOG_LEVEL_UNSPECIFIED',
      });
      return name;
    };
    const old = put('ended-8-days-ago', 8 * DAY);
    const recent = put('ended-an-hour-ago', 60 * 60 * 1000);
    db.close();
    const cloud = await startCloud(dir);
    try {
      await expect.poll(async () => (await api(cloud, 'GET', `/v1/${old}`)).status).toBe(404);
      const kept = await api(cloud, 'GET', `/v1/${recent}`);
      expect(kept.status, JSON.stringify(kept)).toBe(200);
    } finally {
      await cloud.stop();
      db = openDatabase(path);
    }
  });
});
