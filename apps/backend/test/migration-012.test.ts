import { describe, expect, it } from 'vitest';
import { migrate } from '../src/db/open-database.ts';
import { createRegenRepository } from '../src/db/regen-repository.ts';
import { databaseBefore, insertRegenRun, T0 } from './older-database.ts';

describe('migration 012 (a regeneration item records the key of its dispatch)', () => {
  it('keeps the items in flight, without a key (only the stuck timeout ends them), and records the next', () => {
    const db = databaseBefore('012');
    db.prepare(
      `INSERT INTO images (id, original_name, content_type, bytes, sha256, source_key, status, generation,
         priority, preset, created_at, updated_at)
       VALUES ('img_a', 'a.png', 'image/png', 1, ?, 'originals/img_a', 'processed', 0, 'interactive',
         'web-v1', @t, @t)`.replaceAll('@t', `'${T0}'`),
    ).run('a'.repeat(64));
    const runId = insertRegenRun(db, 'web-v3', 'v3');
    db.prepare(
      `INSERT INTO regen_items (run_id, image_id, preset, preset_version, state, generation,
         megapixels, dispatched_at)
       VALUES (?, 'img_a', 'web-v3', 'v3', 'dispatched', 1, 2.5, 1000)`,
    ).run(runId);
    const before = db.prepare('SELECT * FROM regen_items').get() as Record<string, unknown>;

    expect(migrate(db)[0]).toBe('012_regen_dispatch_key.sql');

    const regen = createRegenRepository(db);
    expect(regen.itemFor('img_a', 1)).toEqual({ ...before, dispatch_key: null });
    expect(regen.sentBefore(0, 2000, 10)).toEqual([]);
    expect(regen.recordDispatchKey('img_a', 1, 'batch-key')).toBe(true);
    expect(regen.recordDispatchKey('img_a', 2, 'other-key')).toBe(false);
    expect(regen.sentBefore(0, 2000, 10).map((i) => i.dispatch_key)).toEqual(['batch-key']);
    db.close();
  });
});
