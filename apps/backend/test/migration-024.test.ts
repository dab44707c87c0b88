/**
 * Migration 024: `preset_costs` gains the sums a least-squares line needs
 * (fit_*), started from the images already processed that still serve what
 * they were made with; 009's sums stay as they were, for an older backend
 * rolled back onto the file, and keep being written.
 */
import { describe, expect, it } from 'vitest';
import { migrate } from '../src/db/open-database.ts';
import { createRegenRepository } from '../src/db/regen-repository.ts';
import { databaseBefore, T0 } from './older-database.ts';

const MIGRATION = '024_preset_cost_moments.sql';

describe('migration 024 (the sums behind the per-image and per-megapixel CPU)', () => {
  it('starts the sums from the processed images with a version and a CPU figure, and leaves 009’s alone', () => {
    const db = databaseBefore('024');
    const image = db.prepare(
      `INSERT INTO images (id, original_name, content_type, bytes, sha256, source_key, status,
         generation, priority, preset, width, height, timings, preset_version, created_at,
         updated_at)
       VALUES (@id, 'a.jpg', 'image/jpeg', 1, @id, @id, @status, 0, 'batch', 'web-v3', @width,
         @height, @timings, @version, '${T0}', '${T0}')`,
    );
    const add = (id: string, over: Record<string, unknown>) =>
      image.run({
        id,
        status: 'processed',
        width: 2000,
        height: 1000,
        timings: '{"decode":3,"cpu":1500}',
        version: 'aaaaaaaaaaaaaaaa',
        ...over,
      });
    add('img_a', {}); // 2 MP, 1.5 CPU-s
    add('img_b', { width: 4000, height: 1000, timings: '{"cpu":2500}' }); // 4 MP, 2.5 CPU-s
    add('img_c', { version: 'bbbbbbbbbbbbbbbb', timings: '{"cpu":1000}' }); // only in images
    // None of these counts: no version, not processed, no CPU figure, timings not JSON, no
    // known size (0 MP: CPU at no size would scale a borrowed line by CPU over 0 MP).
    add('img_d', { version: null });
    add('img_e', { status: 'failed' });
    add('img_f', { timings: '{"decode":3}' });
    add('img_g', { timings: 'not json' });
    add('img_h', { width: null, height: null });
    add('img_i', { width: 0 });
    db.prepare(
      `INSERT INTO preset_costs (preset_version, preset, images, megapixels, cpu_ms)
       VALUES ('aaaaaaaaaaaaaaaa', 'web-v3', 40, 100, 50000)`,
    ).run();

    // First of the migrations after it (later ones apply too).
    expect(migrate(db)[0]).toBe(MIGRATION);

    const rows = db.prepare('SELECT * FROM preset_costs ORDER BY preset_version').all();
    expect(rows).toEqual([
      {
        preset_version: 'aaaaaaaaaaaaaaaa',
        preset: 'web-v3',
        images: 40,
        megapixels: 100,
        cpu_ms: 50000,
        fit_images: 2,
        fit_mp: 6,
        fit_cpu_s: 4,
        fit_mp_mp: 20,
        fit_mp_cpu_s: 13,
        fit_cpu_s_cpu_s: 8.5,
      },
      {
        preset_version: 'bbbbbbbbbbbbbbbb',
        preset: 'web-v3',
        images: 0,
        megapixels: 0,
        cpu_ms: 0,
        fit_images: 1,
        fit_mp: 2,
        fit_cpu_s: 1,
        fit_mp_mp: 4,
        fit_mp_cpu_s: 2,
        fit_cpu_s_cpu_s: 1,
      },
    ]);

    // A newly processed image adds to both: 009's sums and the fit's; one of 0 MP to 009's only.
    const regen = createRegenRepository(db);
    regen.addCost({ version: 'aaaaaaaaaaaaaaaa', preset: 'web-v3', megapixels: 1, cpuMs: 500 });
    regen.addCost({ version: 'aaaaaaaaaaaaaaaa', preset: 'web-v3', megapixels: 0, cpuMs: 700 });
    expect(regen.costMoments('aaaaaaaaaaaaaaaa')).toEqual({
      own: { n: 3, sx: 7, sy: 4.5, sxx: 21, sxy: 13.5, syy: 8.75 },
      others: { n: 1, sx: 2, sy: 1, sxx: 4, sxy: 2, syy: 1 },
    });
    expect(
      db
        .prepare("SELECT images, megapixels, cpu_ms FROM preset_costs WHERE preset = 'web-v3'")
        .get(),
    ).toEqual({ images: 42, megapixels: 101, cpu_ms: 51200 });
    db.close();
  });
});
