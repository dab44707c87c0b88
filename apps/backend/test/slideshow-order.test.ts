/**
 * The slideshow's query (library-repository.ts SLIDESHOW_QUERY) reads its rows from the
 * `images_slideshow_order` index (migration 023) in order, with no sort: the public list is
 * asked by every viewer (and every 304), so a sort of every shown image on each request
 * stalled the backend for seconds at 100,000 images. The plan is SQLite's own
 * (EXPLAIN QUERY PLAN), checked on a database with shown, placed and hidden images.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  createLibraryRepository,
  SLIDESHOW_LENGTH,
  SLIDESHOW_QUERY,
} from '../src/db/library-repository.ts';
import { openDatabase } from '../src/db/open-database.ts';
import { databaseBefore, T0 } from './older-database.ts';

describe('the slideshow query', () => {
  it('reads the shown images in slideshow order from an index, with no sort, placed ones first', () => {
    const empty = databaseBefore('001');
    empty.close();
    const db = openDatabase(empty.name);
    onTestFinished(() => {
      if (db.open) db.close();
    });
    const insert = db.prepare(
      `INSERT INTO images (id, original_name, content_type, bytes, sha256, source_key, status,
         generation, priority, preset, created_at, updated_at, processed_at, published, slide_position)
       VALUES (@id, @id, 'image/png', 1, @id, 'originals/' || @id, @status, 0, 'interactive',
         'web-v1', @t, @t, @t, @published, @position)`,
    );
    const rows = [
      { id: 'img_a', status: 'processed', published: 1, position: null, t: T0 + 1 },
      { id: 'img_b', status: 'processed', published: 1, position: 2, t: T0 + 2 },
      { id: 'img_c', status: 'processed', published: 1, position: 1, t: T0 + 3 },
      { id: 'img_d', status: 'processed', published: 1, position: null, t: T0 + 4 },
      { id: 'img_e', status: 'processed', published: 0, position: null, t: T0 + 5 },
      { id: 'img_f', status: 'failed', published: 1, position: null, t: T0 + 6 },
    ];
    for (const row of rows) insert.run(row);

    const plan = db
      .prepare<[number], { detail: string }>(`EXPLAIN QUERY PLAN ${SLIDESHOW_QUERY}`)
      .all(SLIDESHOW_LENGTH)
      .map((step) => step.detail);
    expect(plan.join('\n')).toMatch(/USING INDEX images_slideshow_order/);
    expect(plan.join('\n')).not.toMatch(/TEMP B-TREE/);

    const ids = createLibraryRepository(db)
      .slideshow(SLIDESHOW_LENGTH)
      .map((r) => r.id);
    expect(ids).toEqual(['img_c', 'img_b', 'img_d', 'img_a']);
  });
});
