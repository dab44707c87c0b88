/**
 * Cloud Tasks state in SQLite: queues, tasks (with the columns the scheduler
 * selects on), tombstones of recently deleted or finished task names, which
 * keep a name unusable for an hour like Google does, and of deleted queues,
 * whose names Google keeps for days (model.ts TASKS_RULES).
 */
import { type Db, parseRow } from '../db.ts';
import type { Queue, Task, TasksRules } from './model.ts';

/** A task row with scheduler bookkeeping. */
export interface TaskRow {
  task: Task;
  queue: string;
  scheduleMs: number;
  firstDispatchMs: number | null;
}

/** Data access for queues and tasks. */
export interface TasksStore {
  getQueue(name: string): Queue | undefined;
  listQueues(parent: string): Queue[];
  /** Every queue of every project and location (the scheduler's scan). */
  allQueues(): Queue[];
  putQueue(queue: Queue): void;
  /** Deletes a queue and its tasks, and keeps its name from being reused for a while. */
  deleteQueue(name: string, nowMs: number): void;
  /** True while a deleted queue's name may not be used again. */
  isQueueTombstoned(name: string, nowMs: number): boolean;
  getTask(name: string): TaskRow | undefined;
  listTasks(queue: string): Task[];
  insertTask(queue: string, task: Task, scheduleMs: number): void;
  updateTask(row: TaskRow, inFlight: boolean): boolean;
  /** Deletes a task and leaves a tombstone; false when it was already gone. */
  finishTask(name: string, nowMs: number): boolean;
  purgeQueue(queue: string, nowMs: number): number;
  isTombstoned(name: string, nowMs: number): boolean;
  dueTasks(queue: string, nowMs: number, limit: number): TaskRow[];
  nextScheduleMs(queue: string): number | undefined;
  setInFlight(name: string, inFlight: boolean): void;
  /** Marks every task not in flight (startup after a crash: at-least-once). */
  resetInFlight(): number;
  /** Tasks in the queue, those in flight, and the earliest schedule of the rest (QueueStats). */
  queueStats(queue: string): { tasks: number; inFlight: number; nextScheduleMs: number | null };
}

interface Row {
  name: string;
  queue: string;
  schedule_ms: number;
  first_dispatch_ms: number | null;
  data: string;
}

function toRow(r: Row): TaskRow {
  return {
    task: JSON.parse(r.data) as Task,
    queue: r.queue,
    scheduleMs: r.schedule_ms,
    firstDispatchMs: r.first_dispatch_ms,
  };
}

/** The store's SQL, prepared once. */
function prepareStatements(db: Db) {
  return {
    getQueue: db.prepare<[string], { data: string }>('SELECT data FROM queues WHERE name = ?'),
    listQueues: db.prepare<[string], { data: string }>(
      "SELECT data FROM queues WHERE name LIKE ? || '/queues/%' ORDER BY name",
    ),
    allQueues: db.prepare<[], { data: string }>('SELECT data FROM queues ORDER BY name'),
    putQueue: db.prepare(
      'INSERT INTO queues (name, data) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET data = excluded.data',
    ),
    deleteQueue: db.prepare('DELETE FROM queues WHERE name = ?'),
    tombstoneQueueName: db.prepare(
      'INSERT OR REPLACE INTO queue_tombstones (name, expires_ms) VALUES (?, ?)',
    ),
    isQueueTombstoned: db.prepare<[string, number], { n: number }>(
      'SELECT COUNT(*) AS n FROM queue_tombstones WHERE name = ? AND expires_ms > ?',
    ),
    deleteQueueTasks: db.prepare('DELETE FROM tasks WHERE queue = ?'),
    getTask: db.prepare<[string], Row>('SELECT * FROM tasks WHERE name = ?'),
    listTasks: db.prepare<[string], { data: string }>(
      'SELECT data FROM tasks WHERE queue = ? ORDER BY schedule_ms, seq',
    ),
    insertTask: db.prepare(
      `INSERT INTO tasks (name, queue, seq, schedule_ms, data)
       VALUES (?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM tasks), ?, ?)`,
    ),
    updateTask: db.prepare(
      'UPDATE tasks SET schedule_ms = ?, first_dispatch_ms = ?, in_flight = ?, data = ? WHERE name = ?',
    ),
    deleteTask: db.prepare('DELETE FROM tasks WHERE name = ?'),
    tombstone: db.prepare(
      'INSERT OR REPLACE INTO task_tombstones (name, expires_ms) VALUES (?, ?)',
    ),
    tombstoneQueue: db.prepare(
      'INSERT OR REPLACE INTO task_tombstones (name, expires_ms) SELECT name, ? FROM tasks WHERE queue = ?',
    ),
    isTombstoned: db.prepare<[string, number], { n: number }>(
      'SELECT COUNT(*) AS n FROM task_tombstones WHERE name = ? AND expires_ms > ?',
    ),
    expireTombstones: db.prepare('DELETE FROM task_tombstones WHERE expires_ms <= ?'),
    due: db.prepare<[string, number, number], Row>(
      `SELECT * FROM tasks WHERE queue = ? AND in_flight = 0 AND schedule_ms <= ?
       ORDER BY schedule_ms, seq LIMIT ?`,
    ),
    next: db.prepare<[string], { t: number | null }>(
      'SELECT MIN(schedule_ms) AS t FROM tasks WHERE queue = ? AND in_flight = 0',
    ),
    setInFlight: db.prepare('UPDATE tasks SET in_flight = ? WHERE name = ?'),
    resetInFlight: db.prepare('UPDATE tasks SET in_flight = 0 WHERE in_flight = 1'),
    stats: db.prepare<[string], { tasks: number; inFlight: number | null; next: number | null }>(
      `SELECT count(*) AS tasks, sum(in_flight) AS inFlight,
         min(CASE WHEN in_flight = 0 THEN schedule_ms END) AS next
       FROM tasks WHERE queue = ?`,
    ),
  };
}

/**
 * Creates the store over an open database. A task row whose JSON cannot be
 * read is deleted when the scheduler meets it (reported to `onCorrupt`), so
 * one bad row cannot stall its queue.
 */
export function createTasksStore(
  db: Db,
  rules: Pick<TasksRules, 'taskTombstoneMs' | 'queueTombstoneMs'>,
  onCorrupt: (name: string, error: unknown) => void = () => {},
): TasksStore {
  const s = prepareStatements(db);
  const tombstoneTtlMs = rules.taskTombstoneMs;
  let lastSweepMs = 0;
  const finish = db.transaction((name: string, nowMs: number): boolean => {
    const changed = s.deleteTask.run(name).changes > 0;
    s.tombstone.run(name, nowMs + tombstoneTtlMs);
    return changed;
  });
  const purge = db.transaction((queue: string, nowMs: number): number => {
    s.tombstoneQueue.run(nowMs + tombstoneTtlMs, queue);
    return s.deleteQueueTasks.run(queue).changes;
  });
  return {
    getQueue: (name) => parseRow<Queue>(s.getQueue.get(name)),
    listQueues: (parent) => s.listQueues.all(parent).map((r) => JSON.parse(r.data) as Queue),
    allQueues: () => s.allQueues.all().map((r) => JSON.parse(r.data) as Queue),
    putQueue: (queue) => {
      s.putQueue.run(queue.name, JSON.stringify(queue));
    },
    deleteQueue: db.transaction((name: string, nowMs: number) => {
      s.deleteQueueTasks.run(name);
      s.deleteQueue.run(name);
      s.tombstoneQueueName.run(name, nowMs + rules.queueTombstoneMs);
    }),
    isQueueTombstoned: (name, nowMs) => (s.isQueueTombstoned.get(name, nowMs)?.n ?? 0) > 0,
    getTask: (name) => {
      const r = s.getTask.get(name);
      return r ? toRow(r) : undefined;
    },
    listTasks: (queue) => s.listTasks.all(queue).map((r) => JSON.parse(r.data) as Task),
    insertTask: (queue, task, scheduleMs) => {
      s.insertTask.run(task.name, queue, scheduleMs, JSON.stringify(task));
    },
    updateTask: (row, inFlight) =>
      s.updateTask.run(
        row.scheduleMs,
        row.firstDispatchMs,
        inFlight ? 1 : 0,
        JSON.stringify(row.task),
        row.task.name,
      ).changes > 0,
    finishTask: (name, nowMs) => finish(name, nowMs),
    purgeQueue: (queue, nowMs) => purge(queue, nowMs),
    isTombstoned: (name, nowMs) => {
      // Expired rows are filtered by the query; sweep them out once a minute, not per call.
      if (nowMs - lastSweepMs > 60_000) {
        s.expireTombstones.run(nowMs);
        lastSweepMs = nowMs;
      }
      return (s.isTombstoned.get(name, nowMs)?.n ?? 0) > 0;
    },
    dueTasks: (queue, nowMs, limit) => {
      const rows: TaskRow[] = [];
      for (const r of s.due.all(queue, nowMs, limit)) {
        try {
          rows.push(toRow(r));
        } catch (error) {
          s.deleteTask.run(r.name);
          onCorrupt(r.name, error);
        }
      }
      return rows;
    },
    nextScheduleMs: (queue) => s.next.get(queue)?.t ?? undefined,
    setInFlight: (name, inFlight) => {
      s.setInFlight.run(inFlight ? 1 : 0, name);
    },
    resetInFlight: () => s.resetInFlight.run().changes,
    queueStats: (queue) => {
      const r = s.stats.get(queue);
      return { tasks: r?.tasks ?? 0, inFlight: r?.inFlight ?? 0, nextScheduleMs: r?.next ?? null };
    },
  };
}
