/**
 * Long-running operations (google.longrunning.Operation) for Workflows
 * deploys and Cloud Run jobs. An operation either holds its final JSON or
 * points at a job execution whose state it mirrors when read.
 */
import { randomUUID } from 'node:crypto';
import { type Db, parseRow } from './db.ts';

/** google.longrunning.Operation in JSON. */
export interface Operation {
  name: string;
  metadata?: Record<string, unknown>;
  done: boolean;
  response?: Record<string, unknown>;
  error?: { code: number; message: string; details?: unknown[] };
}

/** What is stored for an operation. */
export type StoredOperation =
  | { kind: 'static'; operation: Operation }
  | { kind: 'job-execution'; name: string; execution: string };

/** Operation persistence. */
export interface OperationsStore {
  /** A fresh operation name under `parent` (`projects/P/locations/L`). */
  newName(parent: string): string;
  put(name: string, op: StoredOperation): void;
  get(name: string): StoredOperation | undefined;
}

/** Creates the operations store. */
export function createOperationsStore(db: Db): OperationsStore {
  // `execution`: the job execution an operation follows, pruned with it (history.ts).
  const put = db.prepare(
    `INSERT INTO operations (name, data, execution) VALUES (?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET data = excluded.data, execution = excluded.execution`,
  );
  const get = db.prepare<[string], { data: string }>('SELECT data FROM operations WHERE name = ?');
  return {
    newName: (parent) => `${parent}/operations/${randomUUID()}`,
    put: (name, op) => {
      put.run(name, JSON.stringify(op), op.kind === 'job-execution' ? op.execution : null);
    },
    get: (name) => parseRow<StoredOperation>(get.get(name)),
  };
}
