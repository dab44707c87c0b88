import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Db, openDatabase } from '../db.ts';
import { newExecution } from './execution-record.ts';
import type { ExecutionTemplate, Job } from './model.ts';
import { createRunStore } from './store.ts';

const PREFIX = 'projects/p/locations/l/jobs/processor/executions/';

let dir: string | undefined;
let db: Db | undefined;
afterEach(() => {
  db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  db = undefined;
  dir = undefined;
});

describe('the run store, on a SQLite file', () => {
  it('counts an execution name in use while it is stored or has task attempts on record', () => {
    dir = mkdtempSync(join(tmpdir(), 'run-store-'));
    db = openDatabase(join(dir, 'local-cloud.db'));
    const store = createRunStore(db);
    // Attempts alone (their execution row gone or never written) still hold the name: a new
    // execution by it would find task 0 succeeded and end at once without running anything.
    store.startAttempt(`${PREFIX}processor-aaaaa`, 0, 0, 123, 1_000);
    store.endAttempt(`${PREFIX}processor-aaaaa`, 0, 0, 'succeeded', 0, 'done', 2_000);
    expect(store.nameInUse(`${PREFIX}processor-aaaaa`)).toBe(true);
    expect(store.nameInUse(`${PREFIX}processor-bbbbb`)).toBe(false);
    store.deleteExecution(`${PREFIX}processor-aaaaa`);
    expect(store.nameInUse(`${PREFIX}processor-aaaaa`)).toBe(false);

    const template: ExecutionTemplate = {
      taskCount: 1,
      parallelism: 1,
      template: { containers: [{ image: 'local/processor' }], maxRetries: 3, timeout: '600s' },
    };
    const time = '2026-12-06T00:00:00.000Z';
    const job: Job = {
      name: 'projects/p/locations/l/jobs/processor',
      uid: 'u',
      generation: '1',
      createTime: time,
      updateTime: time,
      launchStage: 'GA',
      template,
      executionCount: 0,
      reconciling: false,
      etag: 'e',
    };
    const stored = newExecution(job, template, time, store.nameInUse);
    store.putExecution(stored, false);
    expect(store.nameInUse(stored.name)).toBe(true);
  });
});
