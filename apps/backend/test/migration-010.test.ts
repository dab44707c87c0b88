import { describe, expect, it } from 'vitest';
import { migrate } from '../src/db/open-database.ts';
import { createRegenRepository } from '../src/db/regen-repository.ts';
import { databaseBefore, insertDispatchedRegenItem } from './older-database.ts';

describe('migration 010 (a regeneration item says whether an attempt began it)', () => {
  it('keeps the items in flight, reads them as never begun, and records the first start', () => {
    const db = databaseBefore('010');
    const before = insertDispatchedRegenItem(db);

    expect(migrate(db)[0]).toBe('010_regen_started.sql');

    const regen = createRegenRepository(db);
    const item = regen.itemFor('img_a', 1);
    // (migrate() applies the later ones too: 012 adds dispatch_key, 027 alive_at.)
    expect(item).toEqual({ ...before, started_at: null, dispatch_key: null, alive_at: null });
    expect(regen.markStarted(item!.id, 2000)).toBe(true);
    expect(regen.markStarted(item!.id, 3000)).toBe(true);
    expect(regen.itemFor('img_a', 1)?.started_at).toBe(2000);
    db.close();
  });
});
