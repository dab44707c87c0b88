import { describe, expect, it } from 'vitest';
import { migrate } from '../src/db/open-database.ts';
import { createRegenRepository } from '../src/db/regen-repository.ts';
import { databaseBefore, insertDispatchedRegenItem } from './older-database.ts';

describe('migration 012 (a regeneration item records the key of its dispatch)', () => {
  it('keeps the items in flight, without a key (only the stuck timeout ends them), and records the next', () => {
    const db = databaseBefore('012');
    const before = insertDispatchedRegenItem(db);

    expect(migrate(db)[0]).toBe('012_regen_dispatch_key.sql');

    const regen = createRegenRepository(db);
    expect(regen.itemFor('img_a', 1)).toEqual({ ...before, dispatch_key: null, alive_at: null });
    // Not a sent dispatch to look up; a candidate of the stuck timeout once it is due.
    expect(regen.overdue(0, 2000, 0, 10)).toEqual([]);
    expect(regen.overdue(0, 2000, 2000, 10).map((i) => i.dispatch_key)).toEqual([null]);
    expect(regen.recordDispatchKey('img_a', 1, 'batch-key')).toBe(true);
    expect(regen.recordDispatchKey('img_a', 2, 'other-key')).toBe(false);
    expect(regen.overdue(0, 2000, 0, 10).map((i) => i.dispatch_key)).toEqual(['batch-key']);
    db.close();
  });
});
