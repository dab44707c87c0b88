import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Db, openDatabase } from '../db.ts';
import { newExecution } from './execution-record.ts';
import { createRunStore } from './store.ts';
import { SAMPLE_TIME, sampleJob, sampleTemplate } from './test-support.ts';

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

    const stored = newExecution(sampleJob(), sampleTemplate, SAMPLE_TIME, store.nameInUse);
    store.putExecution(stored, false);
    expect(store.nameInUse(stored.name)).toBe(true);
  });
});
