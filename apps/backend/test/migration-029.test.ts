import { describe, expect, it } from 'vitest';
import { migrate } from '../src/db/open-database.ts';
import { createRegenRepository } from '../src/db/regen-repository.ts';
import { databaseBefore, insertRegenRun, T0 } from './older-database.ts';

describe('migration 029 (a regeneration run counts the time it was paused)', () => {
  it('dates the pause of a run paused before it from its last change, and adds it up on resume', () => {
    const db = databaseBefore('029');
    const running = insertRegenRun(db, 'web-v3', 'v3');
    db.prepare(`UPDATE regen_runs SET status = 'done' WHERE id = ?`).run(running);
    const paused = insertRegenRun(db, 'web-v3', 'v3');
    const pausedAt = '2026-01-01T02:00:00.250Z';
    db.prepare(`UPDATE regen_runs SET status = 'paused', updated_at = ? WHERE id = ?`).run(
      pausedAt,
      paused,
    );

    expect(migrate(db)[0]).toBe('029_regen_paused_time.sql');

    const regen = createRegenRepository(db);
    expect(regen.run(running)).toMatchObject({ paused_at: null, paused_ms: 0 });
    expect(regen.run(paused)).toMatchObject({ paused_at: Date.parse(pausedAt), paused_ms: 0 });
    // Resumed an hour later; its first dispatch was at the start of the day.
    regen.recordResume(paused, Date.parse(pausedAt) + 3_600_000, Date.parse(T0));
    expect(regen.run(paused)).toMatchObject({ paused_at: null, paused_ms: 3_600_000 });
    db.close();
  });
});
