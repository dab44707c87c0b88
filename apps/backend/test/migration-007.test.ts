import { describe, expect, it } from 'vitest';
import { migrate } from '../src/db/open-database.ts';
import { databaseBefore } from './older-database.ts';

describe('migration 007 (failed_tasks.source may be dispatch)', () => {
  it('keeps every failed_tasks row and its triggers, and accepts source dispatch', () => {
    const db = databaseBefore('007');
    const image = db.prepare(
      `INSERT INTO images (id, original_name, content_type, bytes, sha256, source_key, status, generation,
         priority, preset, created_at, updated_at)
       VALUES (?, 'a.png', 'image/png', 1, ?, ?, ?, 0, 'interactive', 'web-v1', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`,
    );
    image.run('img_a', 'a'.repeat(64), 'originals/img_a', 'failed');
    image.run('img_b', 'b'.repeat(64), 'originals/img_b', 'uploaded');
    db.prepare(
      `INSERT INTO failed_tasks (image_id, error_code, error_message, attempt_count, last_attempt, source, created_at)
       VALUES ('img_a', 'JOB_FAILED', 'every attempt died', 4, '2026-01-01T01:00:00Z', 'workflow', '2026-01-01T01:00:00Z')`,
    ).run();
    db.prepare(
      `INSERT INTO outbox (image_id, generation, queue, task_name, attempts, next_attempt_at, created_at)
       VALUES ('img_b', 0, 'uploads', 'abc', 7, 0, 0)`,
    ).run();

    // Later migrations (009 rebuilds failed_tasks again) keep what 007 made.
    expect(migrate(db)[0]).toBe('007_dispatch_failures.sql');

    expect(
      db.prepare('SELECT image_id, error_code, attempt_count, source FROM failed_tasks').all(),
    ).toEqual([
      { image_id: 'img_a', error_code: 'JOB_FAILED', attempt_count: 4, source: 'workflow' },
    ]);
    // The relay's give-up, as lifecycle.dispatchFailed writes it: failure first, then the row goes.
    db.prepare(
      `INSERT INTO failed_tasks (image_id, error_code, error_message, last_attempt, source, created_at)
       VALUES ('img_b', 'DISPATCH_REFUSED', 'PERMISSION_DENIED', '2026-01-01T02:00:00Z', 'dispatch', '2026-01-01T02:00:00Z')`,
    ).run();
    db.prepare('DELETE FROM outbox WHERE image_id = ?').run('img_b');
    expect(
      db
        .prepare("SELECT kind, code, detail FROM image_events WHERE image_id = 'img_b' ORDER BY id")
        .all(),
    ).toEqual([
      { kind: 'uploaded', code: null, detail: 'interactive' },
      { kind: 'failed', code: 'DISPATCH_REFUSED', detail: 'dispatch: PERMISSION_DENIED' },
    ]);
    // The CHECK still holds for anything else; the foreign key still cascades.
    expect(() =>
      db
        .prepare(
          `INSERT INTO failed_tasks (image_id, error_code, error_message, last_attempt, source, created_at)
         VALUES ('img_a', 'X', 'y', 'z', 'somebody', 'z') ON CONFLICT (image_id) DO NOTHING`,
        )
        .run(),
    ).toThrow(/CHECK constraint failed/);
    db.prepare("DELETE FROM images WHERE id = 'img_a'").run();
    expect(
      db.prepare("SELECT count(*) AS n FROM failed_tasks WHERE image_id = 'img_a'").get(),
    ).toEqual({ n: 0 });
    db.close();
  });
});
