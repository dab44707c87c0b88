/**
 * Cloud Run jobs state in SQLite: jobs, executions and one row per task
 * attempt (the source of the execution's counters, and of what to re-run
 * after a restart).
 */
import { type Db, parseRow } from '../db.ts';
import type { Execution, Job } from './model.ts';

/** States of a task attempt row. */
export type AttemptState = 'running' | 'succeeded' | 'failed' | 'interrupted' | 'cancelled';

/** A task attempt row. */
export interface AttemptRow {
  execution: string;
  task_index: number;
  attempt: number;
  state: AttemptState;
  pid: number | null;
  exit_code: number | null;
  message: string | null;
  start_ms: number | null;
  end_ms: number | null;
}

/** Data access for jobs, executions and attempts. */
export interface RunStore {
  getJob(name: string): Job | undefined;
  listJobs(parent: string): Job[];
  putJob(job: Job): void;
  deleteJob(name: string): void;
  getExecution(name: string): Execution | undefined;
  /**
   * At most `limit` executions of `scope` — one job, or every job `under` a
   * parent (`projects/P/locations/L`, or `projects/P/locations/%` for all
   * locations) — newest first, with `seq` below `beforeSeq` when given.
   * Only these rows are read.
   */
  pageExecutions(
    scope: { job: string } | { under: string },
    beforeSeq: number | undefined,
    limit: number,
  ): { item: Execution; cursor: number }[];
  /** The execution with id `executionId` under `parent` (a pattern as above), whatever its job. */
  findExecution(parent: string, executionId: string): Execution | undefined;
  putExecution(execution: Execution, done: boolean): void;
  deleteExecution(name: string): void;
  /**
   * Whether an execution name is in use: stored, or with task attempts on
   * record. A new execution must not reuse one, or it would inherit them.
   */
  nameInUse(name: string): boolean;
  /** Rows of executions not done, unparsed: resuming parses and checks each one on its own. */
  unfinishedExecutions(): { name: string; data: string; cancelRequested: boolean }[];
  /** Records that the execution was cancelled, before its tasks have stopped. */
  requestCancel(name: string): void;
  /** Marks an execution row done without parsing it (a row that cannot be resumed). */
  markDone(name: string): void;
  attempts(execution: string): AttemptRow[];
  /** Attempts of tasks with index in [start, end), ordered by task and attempt. */
  attemptsOfTasks(execution: string, start: number, end: number): AttemptRow[];
  /** The message of the execution's most recent failed attempt. */
  lastFailure(execution: string): string | undefined;
  startAttempt(
    execution: string,
    taskIndex: number,
    attempt: number,
    pid: number | null,
    nowMs: number,
  ): void;
  endAttempt(
    execution: string,
    taskIndex: number,
    attempt: number,
    state: AttemptState,
    exitCode: number | null,
    message: string,
    nowMs: number,
  ): void;
}

/** The store's prepared statements. */
function statements(db: Db) {
  return {
    getJob: db.prepare<[string], { data: string }>('SELECT data FROM jobs WHERE name = ?'),
    listJobs: db.prepare<[string], { data: string }>(
      "SELECT data FROM jobs WHERE name LIKE ? || '/jobs/%' ORDER BY name",
    ),
    putJob: db.prepare(
      'INSERT INTO jobs (name, data) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET data = excluded.data',
    ),
    deleteJob: db.prepare('DELETE FROM jobs WHERE name = ?'),
    getExecution: db.prepare<[string], { data: string }>(
      'SELECT data FROM job_executions WHERE name = ?',
    ),
    pageOfJob: db.prepare<[string, number, number], { seq: number; data: string }>(
      'SELECT seq, data FROM job_executions WHERE job = ? AND seq < ? ORDER BY seq DESC LIMIT ?',
    ),
    pageUnder: db.prepare<[string, number, number], { seq: number; data: string }>(
      `SELECT seq, data FROM job_executions WHERE job LIKE ? || '/jobs/%' AND seq < ?
       ORDER BY seq DESC LIMIT ?`,
    ),
    findExecution: db.prepare<[string, string], { name: string; data: string }>(
      "SELECT name, data FROM job_executions WHERE name LIKE ? || '/jobs/%/executions/' || ?",
    ),
    putExecution: db.prepare(
      `INSERT INTO job_executions (name, job, seq, done, data, end_ms)
       VALUES (?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM job_executions), ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET done = excluded.done, data = excluded.data,
         end_ms = excluded.end_ms`,
    ),
    deleteExecution: db.prepare('DELETE FROM job_executions WHERE name = ?'),
    deleteAttempts: db.prepare('DELETE FROM job_task_attempts WHERE execution = ?'),
    nameInUse: db.prepare<[string, string], { n: number }>(
      `SELECT 1 AS n FROM job_executions WHERE name = ?
       UNION ALL SELECT 1 FROM job_task_attempts WHERE execution = ? LIMIT 1`,
    ),
    unfinished: db.prepare<[], { name: string; data: string; cancel_requested: number }>(
      `SELECT name, data, EXISTS (SELECT 1 FROM job_execution_cancels c WHERE c.name = e.name)
         AS cancel_requested
       FROM job_executions e WHERE done = 0 ORDER BY seq`,
    ),
    requestCancel: db.prepare('INSERT OR IGNORE INTO job_execution_cancels (name) VALUES (?)'),
    deleteCancel: db.prepare('DELETE FROM job_execution_cancels WHERE name = ?'),
    markDone: db.prepare('UPDATE job_executions SET done = 1, end_ms = ? WHERE name = ?'),
    attemptsOfTasks: db.prepare<[string, number, number], AttemptRow>(
      `SELECT * FROM job_task_attempts WHERE execution = ? AND task_index >= ? AND task_index < ?
       ORDER BY task_index, attempt`,
    ),
    lastFailure: db.prepare<[string], { message: string | null }>(
      `SELECT message FROM job_task_attempts WHERE execution = ? AND state = 'failed'
       ORDER BY end_ms DESC, task_index DESC LIMIT 1`,
    ),
    attempts: db.prepare<[string], AttemptRow>(
      'SELECT * FROM job_task_attempts WHERE execution = ? ORDER BY task_index, attempt',
    ),
    start: db.prepare(
      `INSERT INTO job_task_attempts (execution, task_index, attempt, state, pid, start_ms)
       VALUES (?, ?, ?, 'running', ?, ?)
       ON CONFLICT DO UPDATE SET state = 'running', pid = excluded.pid, start_ms = excluded.start_ms,
         end_ms = NULL, exit_code = NULL, message = NULL`,
    ),
    end: db.prepare(
      `UPDATE job_task_attempts SET state = ?, exit_code = ?, message = ?, end_ms = ?
       WHERE execution = ? AND task_index = ? AND attempt = ?`,
    ),
  };
}

/** Creates the store. */
export function createRunStore(db: Db): RunStore {
  const s = statements(db);
  return {
    getJob: (name) => parseRow<Job>(s.getJob.get(name)),
    listJobs: (parent) => s.listJobs.all(parent).map((r) => JSON.parse(r.data) as Job),
    putJob: (job) => {
      s.putJob.run(job.name, JSON.stringify(job));
    },
    deleteJob: (name) => {
      s.deleteJob.run(name);
    },
    getExecution: (name) => parseRow<Execution>(s.getExecution.get(name)),
    nameInUse: (name) => s.nameInUse.get(name, name) !== undefined,
    pageExecutions: (scope, beforeSeq, limit) => {
      const before = beforeSeq ?? Number.MAX_SAFE_INTEGER;
      const rows =
        'job' in scope
          ? s.pageOfJob.all(scope.job, before, limit)
          : s.pageUnder.all(scope.under, before, limit);
      return rows.map((r) => ({ item: JSON.parse(r.data) as Execution, cursor: r.seq }));
    },
    findExecution: (parent, executionId) => {
      // LIKE's `_` matches any character: keep only the row whose last segment is the id.
      const row = s.findExecution
        .all(parent, executionId)
        .find((r) => r.name.split('/').at(-1) === executionId);
      return parseRow<Execution>(row);
    },
    putExecution: (execution, done) => {
      const job = execution.name.split('/executions/')[0] ?? '';
      const ended = done ? Date.parse(execution.completionTime ?? '') || Date.now() : null;
      s.putExecution.run(execution.name, job, done ? 1 : 0, JSON.stringify(execution), ended);
    },
    deleteExecution: db.transaction((name: string) => {
      s.deleteAttempts.run(name);
      s.deleteCancel.run(name);
      s.deleteExecution.run(name);
    }),
    unfinishedExecutions: () =>
      s.unfinished.all().map((r) => ({
        name: r.name,
        data: r.data,
        cancelRequested: r.cancel_requested === 1,
      })),
    requestCancel: (name) => {
      s.requestCancel.run(name);
    },
    markDone: (name) => {
      s.markDone.run(Date.now(), name);
    },
    attempts: (execution) => s.attempts.all(execution),
    attemptsOfTasks: (execution, start, end) => s.attemptsOfTasks.all(execution, start, end),
    lastFailure: (execution) => s.lastFailure.get(execution)?.message ?? undefined,
    startAttempt: (execution, taskIndex, attempt, pid, nowMs) => {
      s.start.run(execution, taskIndex, attempt, pid, nowMs);
    },
    endAttempt: (execution, taskIndex, attempt, state, exitCode, message, nowMs) => {
      s.end.run(state, exitCode, message, nowMs, execution, taskIndex, attempt);
    },
  };
}
