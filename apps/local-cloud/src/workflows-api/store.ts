/**
 * Workflows and executions state in SQLite: workflows (current revision),
 * their revisions (source kept so an execution runs the revision it was
 * created under) and executions.
 */
import type Database from 'better-sqlite3';
import { type Db, parseRow } from '../db.ts';
import type { OrderClause } from './list-order.ts';

/** A workflow as stored and returned (google.cloud.workflows.v1.Workflow). */
export interface Workflow {
  name: string;
  description?: string;
  state: 'ACTIVE';
  revisionId: string;
  createTime: string;
  updateTime: string;
  revisionCreateTime: string;
  labels?: Record<string, string>;
  serviceAccount: string;
  sourceContents: string;
  userEnvVars?: Record<string, string>;
  callLogLevel?: string;
}

/** One step of `status.currentSteps`. */
export interface CurrentStep {
  routine: string;
  step: string;
}

/** An execution (google.cloud.workflows.executions.v1.Execution). */
export interface WorkflowExecution {
  name: string;
  /** Marks the creation of the execution (absent on executions stored before this field existed). */
  createTime?: string;
  startTime: string;
  endTime?: string;
  duration?: string;
  state: 'ACTIVE' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
  argument: string;
  result?: string;
  error?: { payload: string; context: string; stackTrace?: { elements: unknown[] } };
  workflowRevisionId: string;
  callLogLevel: string;
  labels?: Record<string, string>;
  status?: { currentSteps: CurrentStep[] };
}

/** Where a page of executions ends: the sort keys of its last row, and the row's `seq`. */
export interface ExecutionsCursor {
  keys: (string | number)[];
  seq: number;
}

/** One read of a workflow's executions, in SQL order after `after`. */
export interface ExecutionsQuery {
  workflow: string;
  order: readonly OrderClause[];
  after?: ExecutionsCursor;
  /** Only executions in every one of these states (a filter's top-level `state="X"`). */
  states: readonly string[];
  /** Only executions carrying every one of these labels (a filter's top-level `labels.K="V"`). */
  labels: readonly (readonly [string, string])[];
  limit: number;
}

/** A row read by `pageExecutions`: the execution (undefined when its JSON cannot be read) and its position. */
export interface ListedExecution {
  execution: WorkflowExecution | undefined;
  cursor: ExecutionsCursor;
}

/** Data access for workflows and executions. */
export interface WorkflowsStore {
  getWorkflow(name: string): Workflow | undefined;
  listWorkflows(parent: string): Workflow[];
  putWorkflow(workflow: Workflow, newRevision: boolean): void;
  deleteWorkflow(name: string): void;
  getRevision(workflow: string, revisionId: string): Workflow | undefined;
  listRevisions(workflow: string): Workflow[];
  revisionCount(workflow: string): number;
  getExecution(name: string): WorkflowExecution | undefined;
  /** At most `query.limit` executions after the cursor, in order; only these rows are read and parsed. */
  pageExecutions(query: ExecutionsQuery): ListedExecution[];
  /** How many stored executions `pageExecutions` has parsed so far (tests check a page reads a page). */
  rowsParsed(): number;
  putExecution(execution: WorkflowExecution): void;
  activeExecutions(): WorkflowExecution[];
  /** Records, before it starts, that a run of the execution began; returns how many have not ended. */
  beginRun(name: string): number;
  /** How many runs of the execution began and did not end (each one a process that died in it). */
  unfinishedRuns(name: string): number;
  /** Records that the execution's run ended with the process still alive (an end, or a clean stop). */
  endRun(name: string): void;
}

/** The store's prepared statements. */
function statements(db: Db) {
  return {
    get: db.prepare<[string], { data: string }>('SELECT data FROM workflows WHERE name = ?'),
    list: db.prepare<[string], { data: string }>(
      "SELECT data FROM workflows WHERE name LIKE ? || '/workflows/%' ORDER BY name",
    ),
    put: db.prepare(
      'INSERT INTO workflows (name, data) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET data = excluded.data',
    ),
    del: db.prepare('DELETE FROM workflows WHERE name = ?'),
    delRevisions: db.prepare('DELETE FROM workflow_revisions WHERE workflow = ?'),
    putRevision: db.prepare(
      'INSERT OR REPLACE INTO workflow_revisions (workflow, revision_id, created_ms, data) VALUES (?, ?, ?, ?)',
    ),
    getRevision: db.prepare<[string, string], { data: string }>(
      'SELECT data FROM workflow_revisions WHERE workflow = ? AND revision_id = ?',
    ),
    listRevisions: db.prepare<[string], { data: string }>(
      'SELECT data FROM workflow_revisions WHERE workflow = ? ORDER BY revision_id DESC',
    ),
    countRevisions: db.prepare<[string], { n: number }>(
      'SELECT COUNT(*) AS n FROM workflow_revisions WHERE workflow = ?',
    ),
    getExecution: db.prepare<[string], { data: string }>(
      'SELECT data FROM executions WHERE name = ?',
    ),
    putExecution: db.prepare(
      `INSERT INTO executions (name, workflow, seq, state, data, create_time, end_ms)
       VALUES (?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM executions), ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET state = excluded.state, data = excluded.data,
         create_time = excluded.create_time, end_ms = excluded.end_ms`,
    ),
    putLabel: db.prepare(
      'INSERT OR IGNORE INTO execution_labels (workflow, key, value, execution) VALUES (?, ?, ?, ?)',
    ),
    active: db.prepare<[], { name: string; data: string }>(
      "SELECT name, data FROM executions WHERE state = 'ACTIVE' ORDER BY seq",
    ),
    fail: db.prepare("UPDATE executions SET state = 'FAILED', end_ms = ? WHERE name = ?"),
    beginRun: db.prepare<[string], { unfinished: number }>(
      `INSERT INTO execution_runs (name, unfinished) VALUES (?, 1)
       ON CONFLICT (name) DO UPDATE SET unfinished = unfinished + 1 RETURNING unfinished`,
    ),
    unfinishedRuns: db.prepare<[string], { unfinished: number }>(
      'SELECT unfinished FROM execution_runs WHERE name = ?',
    ),
    endRun: db.prepare('DELETE FROM execution_runs WHERE name = ?'),
  };
}

/**
 * Creates the store. An ACTIVE execution row whose JSON cannot be read is set
 * FAILED when executions are resumed (reported to `onCorrupt`), so it cannot
 * stop a start.
 */
export function createWorkflowsStore(
  db: Db,
  onCorrupt: (name: string, error: unknown) => void = () => {},
): WorkflowsStore {
  const s = statements(db);
  const page = createExecutionPager(db);
  let parsed = 0;
  return {
    getWorkflow: (name) => parseRow<Workflow>(s.get.get(name)),
    listWorkflows: (parent) => s.list.all(parent).map((r) => JSON.parse(r.data) as Workflow),
    putWorkflow: db.transaction((workflow: Workflow, newRevision: boolean) => {
      s.put.run(workflow.name, JSON.stringify(workflow));
      if (newRevision) {
        s.putRevision.run(workflow.name, workflow.revisionId, Date.now(), JSON.stringify(workflow));
      }
    }),
    deleteWorkflow: db.transaction((name: string) => {
      s.del.run(name);
      s.delRevisions.run(name);
    }),
    getRevision: (workflow, revisionId) =>
      parseRow<Workflow>(s.getRevision.get(workflow, revisionId)),
    listRevisions: (workflow) =>
      s.listRevisions.all(workflow).map((r) => JSON.parse(r.data) as Workflow),
    revisionCount: (workflow) => s.countRevisions.get(workflow)?.n ?? 0,
    getExecution: (name) => parseRow<WorkflowExecution>(s.getExecution.get(name)),
    pageExecutions: (query) =>
      page(query).map((row) => {
        parsed++;
        let execution: WorkflowExecution | undefined;
        try {
          execution = JSON.parse(row.data) as WorkflowExecution;
        } catch (error) {
          // Listed without it (the old list failed as a whole); resuming sets an ACTIVE one aside.
          onCorrupt(row.name, error);
        }
        return { execution, cursor: { keys: row.keys, seq: row.seq } };
      }),
    rowsParsed: () => parsed,
    putExecution: db.transaction((e: WorkflowExecution) => {
      const workflow = e.name.split('/executions/')[0] ?? '';
      const ended = e.state === 'ACTIVE' ? null : Date.parse(e.endTime ?? '') || Date.now();
      s.putExecution.run(
        e.name,
        workflow,
        e.state,
        JSON.stringify(e),
        e.createTime ?? e.startTime,
        ended,
      );
      for (const [key, value] of Object.entries(e.labels ?? {})) {
        s.putLabel.run(workflow, key, value, e.name);
      }
    }),
    activeExecutions: () => {
      const out: WorkflowExecution[] = [];
      for (const r of s.active.all()) {
        try {
          out.push(JSON.parse(r.data) as WorkflowExecution);
        } catch (error) {
          s.fail.run(Date.now(), r.name);
          onCorrupt(r.name, error);
        }
      }
      return out;
    },
    beginRun: (name) => s.beginRun.get(name)?.unfinished ?? 1,
    unfinishedRuns: (name) => s.unfinishedRuns.get(name)?.unfinished ?? 0,
    endRun: (name) => {
      s.endRun.run(name);
    },
  };
}

/** A row of a page: its name, JSON, `seq` and the values of its sort keys. */
interface PageRow {
  name: string;
  data: string;
  seq: number;
  keys: (string | number)[];
}

/**
 * The SQL read behind `pageExecutions`: `ORDER BY` the clauses then `seq DESC`,
 * `LIMIT`, and a keyset condition for "after the cursor" (AIP-158 paging
 * without an offset: each page costs its own size, not the pages before it).
 * Statements are prepared once per shape (order, number of states and labels).
 */
function createExecutionPager(db: Db): (query: ExecutionsQuery) => PageRow[] {
  const prepared = new Map<string, Database.Statement<unknown[], Record<string, unknown>>>();
  return (query) => {
    const keys = query.order.map((c, i) => `${c.sql} AS k${i}`).join(', ');
    const where = ['e.workflow = ?', 'e.create_time IS NOT NULL'];
    const params: unknown[] = [query.workflow];
    const [first, ...more] = query.labels;
    // A label lookup starts from the label's index entries (CROSS JOIN fixes that order):
    // the few executions of one dispatch key, not a walk of the whole history.
    let from = 'executions e';
    if (first !== undefined) {
      from = 'execution_labels l CROSS JOIN executions e';
      where.unshift('l.workflow = ? AND l.key = ? AND l.value = ? AND e.name = l.execution');
      params.unshift(query.workflow, first[0], first[1]);
    }
    for (const state of query.states) {
      where.push('e.state = ?');
      params.push(state);
    }
    for (const [key, value] of more) {
      where.push(
        'e.name IN (SELECT execution FROM execution_labels WHERE workflow = ? AND key = ? AND value = ?)',
      );
      params.push(query.workflow, key, value);
    }
    if (query.after !== undefined) {
      where.push(afterCursor(query.order));
      params.push(...cursorParams(query.order, query.after));
    }
    const order = [...query.order.map((c) => `${c.sql} ${c.desc ? 'DESC' : 'ASC'}`), 'e.seq DESC'];
    const sql = `SELECT e.name, e.data, e.seq, ${keys} FROM ${from} WHERE ${where.join(' AND ')}
      ORDER BY ${order.join(', ')} LIMIT ?`;
    let statement = prepared.get(sql);
    if (statement === undefined) {
      if (prepared.size >= 64) prepared.clear();
      statement = db.prepare(sql);
      prepared.set(sql, statement);
    }
    return statement.all(...params, query.limit).map((r) => ({
      name: r.name as string,
      data: r.data as string,
      seq: r.seq as number,
      keys: query.order.map((_, i) => r[`k${i}`] as string | number),
    }));
  };
}

/**
 * Rows strictly after the cursor in the order: all keys descending (the
 * default order, `seq` always is) is one row-value comparison SQLite answers
 * from the index; mixed directions expand to "first key past, or equal and
 * the next past, …".
 */
function afterCursor(order: readonly OrderClause[]): string {
  if (order.every((c) => c.desc)) {
    return `(${[...order.map((c) => c.sql), 'e.seq'].join(', ')}) < (${order.map(() => '?').join(', ')}, ?)`;
  }
  const terms: string[] = [];
  for (let i = 0; i <= order.length; i++) {
    const equal = order.slice(0, i).map((c) => `${c.sql} = ?`);
    const clause = order[i];
    const past = clause === undefined ? 'e.seq < ?' : `${clause.sql} ${clause.desc ? '<' : '>'} ?`;
    terms.push(`(${[...equal, past].join(' AND ')})`);
  }
  return `(${terms.join(' OR ')})`;
}

/** The parameters `afterCursor(order)` reads, in its order. */
function cursorParams(order: readonly OrderClause[], after: ExecutionsCursor): unknown[] {
  if (order.every((c) => c.desc)) return [...after.keys, after.seq];
  const params: unknown[] = [];
  for (let i = 0; i <= order.length; i++) {
    params.push(...after.keys.slice(0, i), i < order.length ? after.keys[i] : after.seq);
  }
  return params;
}
