/**
 * The emulator's SQLite file: WAL, a busy timeout, numbered append-only
 * migrations tracked in `PRAGMA user_version`. Resources are stored as their
 * JSON representation plus the few columns the scheduler queries on.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/** The database handle type used across the app. */
export type Db = Database.Database;

/**
 * SQL that blanks, in the JSON `data` of `table`, the plain value of every
 * env var at `path` whose name says it is a secret. Earlier local-clouds
 * stored (and returned) such values, e.g. the stack's CALLBACK_SECRET; now
 * secrets are `valueSource.secretKeyRef` references. Rows whose JSON is not
 * valid are left alone, so the migration cannot fail on them.
 */
function blankSecretEnv(table: string, path: string): string {
  const secretName = [
    '*SECRET',
    '*_TOKEN',
    'TOKEN',
    '*PASSWORD',
    '*PASSWD',
    '*_KEY',
    '*CREDENTIALS',
  ]
    .map((glob) => `upper(json_extract(e.value, '$.name')) GLOB '${glob}'`)
    .join(' OR ');
  // json(…): a subquery's result loses its JSON subtype and would be stored as a string.
  return `UPDATE ${table} SET data = json_set(data, '${path}', json((
      SELECT json_group_array(
        CASE WHEN json_type(e.value, '$.value') = 'text' AND (${secretName})
          THEN json_object('name', json_extract(e.value, '$.name'), 'value', '')
          ELSE json(e.value) END)
      FROM json_each(data, '${path}') AS e)))
    WHERE json_valid(data) AND json_type(data, '${path}') = 'array';`;
}

/** Adds the column unless the table has it: a migration may be run again over its own result. */
function addColumn(db: Db, table: string, column: string, type: string): void {
  const columns = db.pragma(`table_info(${table})`) as { name: string }[];
  if (!columns.some((c) => c.name === column)) {
    db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
  }
}

/** Append-only: never edit an entry, add a new one. Each is SQL, or a function of the database. */
const MIGRATIONS: readonly (string | ((db: Db) => void))[] = [
  `CREATE TABLE queues (name TEXT PRIMARY KEY, data TEXT NOT NULL);
   CREATE TABLE tasks (
     name TEXT PRIMARY KEY,
     queue TEXT NOT NULL,
     seq INTEGER NOT NULL,
     schedule_ms INTEGER NOT NULL,
     first_dispatch_ms INTEGER,
     in_flight INTEGER NOT NULL DEFAULT 0,
     data TEXT NOT NULL
   );
   CREATE INDEX tasks_due ON tasks (queue, in_flight, schedule_ms, seq);
   CREATE TABLE task_tombstones (name TEXT PRIMARY KEY, expires_ms INTEGER NOT NULL);
   CREATE TABLE operations (name TEXT PRIMARY KEY, data TEXT NOT NULL);
   CREATE TABLE workflows (name TEXT PRIMARY KEY, data TEXT NOT NULL);
   CREATE TABLE workflow_revisions (
     workflow TEXT NOT NULL, revision_id TEXT NOT NULL, created_ms INTEGER NOT NULL,
     data TEXT NOT NULL, PRIMARY KEY (workflow, revision_id)
   );
   CREATE TABLE executions (
     name TEXT PRIMARY KEY, workflow TEXT NOT NULL, seq INTEGER NOT NULL,
     state TEXT NOT NULL, data TEXT NOT NULL
   );
   CREATE INDEX executions_by_workflow ON executions (workflow, seq);
   CREATE TABLE jobs (name TEXT PRIMARY KEY, data TEXT NOT NULL);
   CREATE TABLE job_executions (
     name TEXT PRIMARY KEY, job TEXT NOT NULL, seq INTEGER NOT NULL,
     done INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL
   );
   CREATE TABLE job_task_attempts (
     execution TEXT NOT NULL, task_index INTEGER NOT NULL, attempt INTEGER NOT NULL,
     state TEXT NOT NULL, pid INTEGER, exit_code INTEGER, message TEXT,
     start_ms INTEGER, end_ms INTEGER,
     PRIMARY KEY (execution, task_index, attempt)
   );`,
  // Keep inserts O(log n): next seq numbers and tombstone expiry are looked up per request.
  `CREATE INDEX tasks_seq ON tasks (seq);
   CREATE INDEX task_tombstones_expiry ON task_tombstones (expires_ms);
   CREATE INDEX executions_seq ON executions (seq);
   CREATE INDEX executions_active ON executions (state);
   CREATE INDEX job_executions_seq ON job_executions (seq);
   CREATE INDEX job_executions_unfinished ON job_executions (done);`,
  // The n-th connector call of a workflow execution → the operation it started.
  `CREATE TABLE connector_calls (
     execution TEXT NOT NULL, seq INTEGER NOT NULL, operation TEXT NOT NULL,
     PRIMARY KEY (execution, seq)
   );`,
  // Secrets stored in clear by earlier versions: blanked in jobs, executions and operations.
  [
    blankSecretEnv('jobs', '$.template.template.containers[0].env'),
    blankSecretEnv('job_executions', '$.template.containers[0].env'),
    blankSecretEnv('operations', '$.operation.metadata.template.template.containers[0].env'),
    blankSecretEnv('operations', '$.operation.response.template.template.containers[0].env'),
    blankSecretEnv('operations', '$.operation.metadata.template.containers[0].env'),
    blankSecretEnv('operations', '$.operation.response.template.containers[0].env'),
  ].join('\n'),
  // Deleted queues: their names stay unusable for a while, as on Google (tasks/model.ts TASKS_RULES).
  `CREATE TABLE IF NOT EXISTS queue_tombstones (name TEXT PRIMARY KEY, expires_ms INTEGER NOT NULL);`,
  // Job executions whose cancel was asked for: one a crash or a shutdown cut short ends
  // cancelled on the next start instead of running again.
  'CREATE TABLE IF NOT EXISTS job_execution_cancels (name TEXT PRIMARY KEY);',
  // Workflow executions whose run a process began and did not end (no end stored, no clean
  // stop): one whose runs keep ending with local-cloud itself is set aside at the next start.
  'CREATE TABLE IF NOT EXISTS execution_runs (name TEXT PRIMARY KEY, unfinished INTEGER NOT NULL);',
  // Listing pages in SQL and pruning old history (src/history.ts): the sort key of the default
  // order, when each execution ended, every execution's labels (the backend looks executions up
  // by its `dispatch_key` label), the job execution an operation follows, and the indexes for them.
  // Rows whose JSON cannot be read get no sort key or labels; finished ones with no readable end
  // count as ended now, so they are pruned one retention period later.
  (db) => {
    addColumn(db, 'executions', 'create_time', 'TEXT');
    addColumn(db, 'executions', 'end_ms', 'INTEGER');
    addColumn(db, 'job_executions', 'end_ms', 'INTEGER');
    addColumn(db, 'operations', 'execution', 'TEXT');
    db.exec(`UPDATE executions SET
     create_time = COALESCE(json_extract(data, '$.createTime'), json_extract(data, '$.startTime')),
     end_ms = CASE WHEN state = 'ACTIVE' THEN NULL
       ELSE CAST(round((julianday(json_extract(data, '$.endTime')) - 2440587.5) * 86400000) AS INTEGER)
       END
     WHERE json_valid(data);
   UPDATE executions SET end_ms = CAST(round((julianday('now') - 2440587.5) * 86400000) AS INTEGER)
     WHERE state <> 'ACTIVE' AND end_ms IS NULL;
   CREATE INDEX IF NOT EXISTS executions_listing ON executions (workflow, create_time, seq);
   CREATE INDEX IF NOT EXISTS executions_ended ON executions (end_ms) WHERE end_ms IS NOT NULL;
   CREATE TABLE IF NOT EXISTS execution_labels (
     workflow TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, execution TEXT NOT NULL,
     PRIMARY KEY (workflow, key, value, execution)
   ) WITHOUT ROWID;
   CREATE INDEX IF NOT EXISTS execution_labels_by_execution ON execution_labels (execution);
   INSERT OR IGNORE INTO execution_labels (workflow, key, value, execution)
     SELECT e.workflow, l.key, l.value, e.name FROM executions e,
       json_each(CASE WHEN json_valid(e.data) THEN e.data ELSE '{}' END, '$.labels') l
     WHERE l.type = 'text' AND l.key IS NOT NULL;
   UPDATE job_executions SET end_ms = CAST(round((julianday(
       CASE WHEN json_valid(data) THEN json_extract(data, '$.completionTime') END
     ) - 2440587.5) * 86400000) AS INTEGER) WHERE done = 1;
   UPDATE job_executions SET end_ms = CAST(round((julianday('now') - 2440587.5) * 86400000) AS INTEGER)
     WHERE done = 1 AND end_ms IS NULL;
   CREATE INDEX IF NOT EXISTS job_executions_listing ON job_executions (job, seq);
   CREATE INDEX IF NOT EXISTS job_executions_ended ON job_executions (end_ms) WHERE end_ms IS NOT NULL;
   UPDATE operations SET execution = json_extract(data, '$.execution')
     WHERE CASE WHEN json_valid(data) THEN json_extract(data, '$.kind') = 'job-execution' END;
   CREATE INDEX IF NOT EXISTS operations_by_execution ON operations (execution)
     WHERE execution IS NOT NULL;
   CREATE INDEX IF NOT EXISTS connector_calls_by_operation ON connector_calls (operation);`);
  },
];

/** Opens (creating if needed) and migrates the database at `path`. */
export function openDatabase(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('synchronous = NORMAL');
  const current = Number(db.pragma('user_version', { simple: true }));
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      const migration = MIGRATIONS[v]!;
      if (typeof migration === 'string') db.exec(migration);
      else migration(db);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return db;
}

/** Parses a JSON column. */
export function parseRow<T>(row: { data: string } | undefined): T | undefined {
  return row === undefined ? undefined : (JSON.parse(row.data) as T);
}
