/**
 * Workflows and executions state in SQLite: workflows (current revision),
 * their revisions (source kept so an execution runs the revision it was
 * created under) and executions.
 */
import { type Db, parseRow } from '../db.ts';

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
  listExecutions(workflow: string): WorkflowExecution[];
  putExecution(execution: WorkflowExecution): void;
  activeExecutions(): WorkflowExecution[];
  /** Records, before it starts, that a run of the execution began; returns how many have not ended. */
  beginRun(name: string): number;
  /** How many runs of the execution began and did not end (each one a process that died in it). */
  unfinishedRuns(name: string): number;
  /** Records that the execution's run ended with the process still alive (an end, or a clean stop). */
  endRun(name: string): void;
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
  const s = {
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
    listExecutions: db.prepare<[string], { data: string }>(
      'SELECT data FROM executions WHERE workflow = ? ORDER BY seq DESC',
    ),
    putExecution: db.prepare(
      `INSERT INTO executions (name, workflow, seq, state, data)
       VALUES (?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM executions), ?, ?)
       ON CONFLICT (name) DO UPDATE SET state = excluded.state, data = excluded.data`,
    ),
    active: db.prepare<[], { name: string; data: string }>(
      "SELECT name, data FROM executions WHERE state = 'ACTIVE' ORDER BY seq",
    ),
    fail: db.prepare("UPDATE executions SET state = 'FAILED' WHERE name = ?"),
    beginRun: db.prepare<[string], { unfinished: number }>(
      `INSERT INTO execution_runs (name, unfinished) VALUES (?, 1)
       ON CONFLICT (name) DO UPDATE SET unfinished = unfinished + 1 RETURNING unfinished`,
    ),
    unfinishedRuns: db.prepare<[string], { unfinished: number }>(
      'SELECT unfinished FROM execution_runs WHERE name = ?',
    ),
    endRun: db.prepare('DELETE FROM execution_runs WHERE name = ?'),
  };
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
    listExecutions: (workflow) =>
      s.listExecutions.all(workflow).map((r) => JSON.parse(r.data) as WorkflowExecution),
    putExecution: (e) => {
      const workflow = e.name.split('/executions/')[0] ?? '';
      s.putExecution.run(e.name, workflow, e.state, JSON.stringify(e));
    },
    activeExecutions: () => {
      const out: WorkflowExecution[] = [];
      for (const r of s.active.all()) {
        try {
          out.push(JSON.parse(r.data) as WorkflowExecution);
        } catch (error) {
          s.fail.run(r.name);
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
