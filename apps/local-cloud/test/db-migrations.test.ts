/**
 * Migrations of local-cloud.db that change stored data: secrets an earlier
 * local-cloud stored in clear in jobs, executions and operations are blanked.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db.ts';
import { removeDir, tempDir } from './helpers.ts';

const dir = tempDir();
afterAll(() => removeDir(dir));

const env = [
  { name: 'CALLBACK_SECRET', value: 'the-old-secret' },
  { name: 'ADMIN_PASSWORD', value: 'hunter2' },
  { name: 'GITHUB_TOKEN', value: 'ghp_x' },
  { name: 'BACKEND_API_URL', value: 'http://127.0.0.1:8080' },
  { name: 'MAX_TOKENS', value: '5' },
  { name: 'CALLBACK_SECRET_REF', valueSource: { secretKeyRef: { secret: 'callback-secret' } } },
];

describe('migration 4', () => {
  it('blanks plain secret values stored by an earlier version, and nothing else', () => {
    const path = join(dir, 'local-cloud.db');
    openDatabase(path).close();
    const raw = new Database(path);
    const job = { name: 'j', template: { template: { containers: [{ env }] } } };
    const execution = { name: 'e', template: { containers: [{ env }] } };
    raw.prepare('INSERT INTO jobs (name, data) VALUES (?, ?)').run('j', JSON.stringify(job));
    raw
      .prepare('INSERT INTO job_executions (name, job, seq, done, data) VALUES (?, ?, 1, 1, ?)')
      .run('e', 'j', JSON.stringify(execution));
    raw
      .prepare('INSERT INTO job_executions (name, job, seq, done, data) VALUES (?, ?, 2, 0, ?)')
      .run('torn', 'j', '{"template": ');
    raw
      .prepare('INSERT INTO operations (name, data) VALUES (?, ?)')
      .run(
        'op',
        JSON.stringify({ kind: 'static', operation: { metadata: job, response: job, done: true } }),
      );
    raw.pragma('user_version = 3');
    raw.close();

    const db = openDatabase(path);
    try {
      const read = (sql: string, name: string) =>
        JSON.parse(
          (db.prepare<[string], { data: string }>(sql).get(name) as { data: string }).data,
        );
      const expected = [
        { name: 'CALLBACK_SECRET', value: '' },
        { name: 'ADMIN_PASSWORD', value: '' },
        { name: 'GITHUB_TOKEN', value: '' },
        { name: 'BACKEND_API_URL', value: 'http://127.0.0.1:8080' },
        { name: 'MAX_TOKENS', value: '5' },
        env[5],
      ];
      expect(
        read('SELECT data FROM jobs WHERE name = ?', 'j').template.template.containers[0].env,
      ).toEqual(expected);
      expect(
        read('SELECT data FROM job_executions WHERE name = ?', 'e').template.containers[0].env,
      ).toEqual(expected);
      const op = read('SELECT data FROM operations WHERE name = ?', 'op').operation;
      expect(op.metadata.template.template.containers[0].env).toEqual(expected);
      expect(op.response.template.template.containers[0].env).toEqual(expected);
      const torn = db
        .prepare<[string], { data: string }>('SELECT data FROM job_executions WHERE name = ?')
        .get('torn');
      expect(torn?.data).toBe('{"template": ');
    } finally {
      db.close();
    }
  });
});
