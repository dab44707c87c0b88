import { describe, expect, it } from 'vitest';
import { migrate } from '../src/db/open-database.ts';
import { createRegenRepository } from '../src/db/regen-repository.ts';
import { databaseBefore, insertRegenRun, T0 } from './older-database.ts';

describe('migration 010 (a regeneration item says whether an attempt began it)', () => {
  it('keeps the items in flight, reads them as never begun, and records the first start', () => {
    const db = databaseBefore('010');
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

    expect(migrate(db)[0]).toBe('010_regen_started.sql');

    const regen = createRegenRepository(db);
    const item = regen.itemFor('img_a', 1);
    // (migrate() applies the later ones too: 012 adds dispatch_key.)
    expect(item).toEqual({ ...before, started_at: null, dispatch_key: null });
    expect(regen.markStarted(item!.id, 2000)).toBe(true);
    expect(regen.markStarted(item!.id, 3000)).toBe(true);
    expect(regen.itemFor('img_a', 1)?.started_at).toBe(2000);
    db.close();
  });
});
