import { describe, expect, it } from 'vitest';
import { createImagesRepository } from '../src/db/images-repository.ts';
import { migrate } from '../src/db/open-database.ts';
import { databaseBefore, T0 } from './older-database.ts';

describe('migration 019 (an image records which attempt its last started came from)', () => {
  it('keeps an image in processing, reads its attempt as unknown, and records the next started', () => {
    const db = databaseBefore('019');
    db.prepare(
      `INSERT INTO images (id, original_name, content_type, bytes, sha256, source_key, status,
         generation, priority, preset, attempts, execution, created_at, updated_at)
       VALUES ('img_a', 'a.png', 'image/png', 1, ?, 'originals/img_a', 'processing', 0,
         'interactive', 'web-v3', 1, 'exec-a', ?, ?)`,
    ).run('a'.repeat(64), T0, T0);

    expect(migrate(db)[0]).toBe('019_started_attempt.sql');

    const images = createImagesRepository(db);
    expect(images.get('img_a')).toMatchObject({
      status: 'processing',
      attempts: 1,
      execution: 'exec-a',
      started_attempt: null,
    });
    expect(images.markStarted('img_a', 0, 'exec-a', 1, T0)).toBe(true);
    expect(images.get('img_a')).toMatchObject({ attempts: 2, started_attempt: 1 });
    db.close();
  });
});
