import { describe, expect, it } from 'vitest';
import { migrate } from '../src/db/open-database.ts';
import { databaseBefore, insertRegenRun, T0 } from './older-database.ts';

describe('migration 009 (presets and regeneration)', () => {
  it('keeps every failed_tasks row and its triggers, accepts source regenerate and leaves old images without a preset version', () => {
    const db = databaseBefore('008');
    const image = db.prepare(
      `INSERT INTO images (id, original_name, content_type, bytes, sha256, source_key, status, generation,
         priority, preset, created_at, updated_at)
       VALUES (?, 'a.png', 'image/png', 1, ?, ?, ?, 0, 'interactive', 'web-v1', @t, @t)`.replaceAll(
        '@t',
        `'${T0}'`,
      ),
    );
    image.run('img_a', 'a'.repeat(64), 'originals/img_a', 'failed');
    image.run('img_b', 'b'.repeat(64), 'originals/img_b', 'uploaded');
    image.run('img_c', 'c'.repeat(64), 'originals/img_c', 'processed');
    const failure = db.prepare(
      `INSERT INTO failed_tasks (id, image_id, error_code, error_message, attempt_count, last_attempt,
         execution, source, created_at, resolved_at)
       VALUES (?, ?, ?, ?, ?, '2026-01-01T01:00:00Z', ?, ?, '2026-01-01T01:00:00Z', ?)`,
    );
    failure.run(7, 'img_a', 'JOB_FAILED', 'every attempt died', 4, 'exec-7', 'workflow', null);
    failure.run(9, 'img_b', 'DISPATCH_REFUSED', 'PERMISSION_DENIED', 1, null, 'dispatch', null);
    failure.run(
      11,
      'img_c',
      'CORRUPT_IMAGE',
      'bad data',
      2,
      'exec-11',
      'processor',
      '2026-01-01T02:00:00Z',
    );
    const before = db.prepare('SELECT * FROM failed_tasks ORDER BY id').all();
    db.prepare(
      `INSERT INTO outbox (image_id, generation, queue, task_name, attempts, next_attempt_at, created_at)
       VALUES ('img_b', 0, 'uploads', 'abc', 7, 0, 0)`,
    ).run();

    // Later migrations (010 adds a column to regen_items) keep what 009 made.
    expect(migrate(db)[0]).toBe('009_regeneration.sql');

    expect(db.prepare('SELECT * FROM failed_tasks ORDER BY id').all()).toEqual(before);
    expect(db.prepare('SELECT id, preset_version FROM images ORDER BY id').all()).toEqual([
      { id: 'img_a', preset_version: null },
      { id: 'img_b', preset_version: null },
      { id: 'img_c', preset_version: null },
    ]);
    // A regeneration's failure is accepted, and the timeline records it: a first failure
    // (trigger on insert) and another on an image that had failed before (trigger on update).
    image.run('img_d', 'd'.repeat(64), 'originals/img_d', 'processed');
    const regenFailure = db.prepare(
      `INSERT INTO failed_tasks (image_id, error_code, error_message, last_attempt, source, created_at)
       VALUES (?, 'STUCK', 'no report', '2026-01-01T03:00:00Z', 'regenerate', '2026-01-01T03:00:00Z')
       ON CONFLICT (image_id) DO UPDATE SET error_code = excluded.error_code,
         error_message = excluded.error_message, attempt_count = attempt_count + 1,
         source = excluded.source`,
    );
    regenFailure.run('img_d');
    regenFailure.run('img_c');
    const events = db.prepare<[string], { kind: string; code: string | null; detail: string }>(
      'SELECT kind, code, detail FROM image_events WHERE image_id = ? ORDER BY id',
    );
    expect(events.all('img_d')).toEqual([
      { kind: 'uploaded', code: null, detail: 'interactive' },
      { kind: 'failed', code: 'STUCK', detail: 'regenerate: no report' },
    ]);
    expect(events.all('img_c').at(-1)).toEqual({
      kind: 'failed',
      code: 'STUCK',
      detail: 'regenerate: no report',
    });
    // The relay's give-up (open dispatch failure) is still not recorded as a dispatch.
    db.prepare("DELETE FROM outbox WHERE image_id = 'img_b'").run();
    expect(
      db.prepare("SELECT count(*) AS n FROM image_events WHERE kind = 'dispatched'").get(),
    ).toEqual({ n: 0 });
    expect(() =>
      db
        .prepare(
          `INSERT INTO failed_tasks (image_id, error_code, error_message, last_attempt, source, created_at)
           VALUES ('img_b', 'X', 'y', 'z', 'somebody', 'z') ON CONFLICT (image_id) DO NOTHING`,
        )
        .run(),
    ).toThrow(/CHECK constraint failed/);

    // The regeneration tables: one item per (image, preset version); deleting an image takes its rows.
    const runId = insertRegenRun(db, 'web-v1', 'v2');
    const item = db.prepare(
      `INSERT INTO regen_items (run_id, image_id, preset, preset_version, state, megapixels)
       VALUES (?, 'img_c', 'web-v1', 'v2', 'pending', 1)`,
    );
    item.run(runId);
    expect(() => item.run(runId)).toThrow(/UNIQUE constraint failed/);
    db.prepare("DELETE FROM images WHERE id = 'img_c'").run();
    expect(
      db
        .prepare(
          "SELECT (SELECT count(*) FROM failed_tasks WHERE image_id = 'img_c') + (SELECT count(*) FROM regen_items) AS n",
        )
        .get(),
    ).toEqual({ n: 0 });
    db.close();
  });
});
