/**
 * `npm start` (tools/start-local.ts) on a data folder an older version left: versions before the
 * `samples-uploaded` marker uploaded the samples on the run that created the database and wrote
 * no marker, so the first run of this version took the folder for one without samples and sent
 * them again, bringing back the ones the admin had deleted. A folder whose database shows
 * uploaded images — rows left, or only the outbox's dispatch count once every one is deleted —
 * now counts as having had its samples, and gets the marker.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@slideshow/tools/shared-dir';
import { freePort } from '@slideshow/tools/stack-children';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { startLocal } from './start-local-support.ts';

const MIGRATIONS = join(repoRoot, 'apps/backend/src/db/migrations');
const T0 = '2026-11-23T10:00:00.000Z';

/**
 * A data folder with a database as an older version left it after its samples: every migration
 * applied, the samples uploaded and dispatched (outbox rows numbered 1–2), then `keep` of them
 * left (the others deleted by the admin, their outbox rows with them). No marker.
 */
function olderFolder(root: string, name: string, keep: number): string {
  const dataDir = join(root, name);
  mkdirSync(dataDir, { mode: 0o700 });
  const db = new Database(join(dataDir, 'slideshow.db'));
  try {
    db.exec('CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)');
    for (const file of readdirSync(MIGRATIONS).sort()) {
      db.exec(readFileSync(join(MIGRATIONS, file), 'utf8'));
      db.prepare('INSERT INTO schema_migrations VALUES (?, ?)').run(file, T0);
    }
    for (const id of ['img_sample1', 'img_sample2']) {
      db.prepare(
        `INSERT INTO images (id, original_name, content_type, bytes, sha256, source_key, status,
           generation, priority, preset, created_at, updated_at)
         VALUES (?, ?, 'image/jpeg', 1, ?, ?, 'failed', 0, 'interactive', 'web-v3', ?, ?)`,
      ).run(id, `${id}.jpg`, id.padEnd(64, '0'), `originals/${id}`, T0, T0);
      db.prepare(
        `INSERT INTO outbox (image_id, generation, queue, task_name, next_attempt_at, created_at)
         VALUES (?, 0, 'uploads', ?, 0, 0)`,
      ).run(id, `task-${id}`);
      db.prepare('DELETE FROM outbox WHERE image_id = ?').run(id);
    }
    db.prepare(
      'DELETE FROM images WHERE id NOT IN (SELECT id FROM images ORDER BY id LIMIT ?)',
    ).run(keep);
  } finally {
    db.close();
  }
  return dataDir;
}

const imageCount = (dataDir: string): number => {
  const db = new Database(join(dataDir, 'slideshow.db'), { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM images').get() as { n: number }).n;
  } finally {
    db.close();
  }
};

describe('npm start on a data folder from before the samples marker', () => {
  const root = mkdtempSync(join(tmpdir(), 'start-local-upgrade-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  for (const [name, keep] of [
    ['images left', 1],
    ['every image deleted', 0],
  ] as const) {
    it(`uploads no samples and marks the folder (${name})`, async () => {
      const dataDir = olderFolder(root, name.replaceAll(' ', '-'), keep);
      const run = startLocal({
        PORT: String(await freePort()),
        LOCAL_CLOUD_PORT: String(await freePort()),
        DATA_DIR: dataDir,
      });
      try {
        await run.waitFor('Samples: none uploaded', 120_000);
      } finally {
        run.child.kill('SIGINT');
        expect(await run.exited(60_000), run.output()).toBe(0);
      }
      expect(run.output()).not.toContain('Uploading');
      expect(existsSync(join(dataDir, 'samples-uploaded'))).toBe(true);
      expect(imageCount(dataDir)).toBe(keep);
    }, 300_000);
  }
});
