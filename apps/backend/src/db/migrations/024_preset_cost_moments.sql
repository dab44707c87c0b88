-- 024: the sums a least-squares line through each preset version's measured
-- costs needs (docs/operations.md, "Presets and regeneration"). A dry run
-- models an image's CPU as a fixed part plus a part per source megapixel
-- (regen/cpu-fit.ts); 009's sums (images, megapixels, cpu_ms) give only one
-- rate per megapixel, which cannot tell the two apart. The fit_* columns hold
-- n, Σx, Σy, Σx², Σxy and Σy² (x: source megapixels, y: the processor's CPU
-- seconds) over the same images; 009's columns stay as they are and keep
-- being written, so an older backend rolled back onto this file reads them
-- as before.
ALTER TABLE preset_costs ADD COLUMN fit_images INTEGER NOT NULL DEFAULT 0;
ALTER TABLE preset_costs ADD COLUMN fit_mp REAL NOT NULL DEFAULT 0;
ALTER TABLE preset_costs ADD COLUMN fit_cpu_s REAL NOT NULL DEFAULT 0;
ALTER TABLE preset_costs ADD COLUMN fit_mp_mp REAL NOT NULL DEFAULT 0;
ALTER TABLE preset_costs ADD COLUMN fit_mp_cpu_s REAL NOT NULL DEFAULT 0;
ALTER TABLE preset_costs ADD COLUMN fit_cpu_s_cpu_s REAL NOT NULL DEFAULT 0;

-- The images already processed that still serve what they were made with
-- (their version, size and the processor's `timings.cpu` in ms) start the
-- sums, so an upgraded database has a fit at once. Images since made again
-- with another version are gone from `images`; 009's sums counted them, these
-- do not. Images of no known size (0 MP) are left out: CPU at x = 0 says
-- nothing of the per-megapixel part, and a fit over such images only would
-- scale a borrowed line by their CPU over 0 MP. The SELECT has a WHERE for
-- SQLite's upsert parser
-- (https://www.sqlite.org/lang_upsert.html, "Parsing Ambiguity").
INSERT INTO preset_costs (preset_version, preset, images, megapixels, cpu_ms, fit_images,
  fit_mp, fit_cpu_s, fit_mp_mp, fit_mp_cpu_s, fit_cpu_s_cpu_s)
SELECT preset_version, max(preset), 0, 0, 0, count(*), sum(mp), sum(cpu), sum(mp * mp),
  sum(mp * cpu), sum(cpu * cpu)
FROM (
  SELECT i.preset_version, i.preset, i.width * i.height / 1e6 AS mp,
    json_extract(i.timings, '$.cpu') / 1000.0 AS cpu
  FROM images i
  WHERE i.status = 'processed' AND i.preset_version IS NOT NULL AND i.width > 0
    AND i.height > 0 AND json_valid(i.timings)
    AND json_type(i.timings, '$.cpu') IN ('integer', 'real')
)
WHERE true
GROUP BY preset_version
ON CONFLICT (preset_version) DO UPDATE SET fit_images = excluded.fit_images,
  fit_mp = excluded.fit_mp, fit_cpu_s = excluded.fit_cpu_s, fit_mp_mp = excluded.fit_mp_mp,
  fit_mp_cpu_s = excluded.fit_mp_cpu_s, fit_cpu_s_cpu_s = excluded.fit_cpu_s_cpu_s;
