-- 021: images whose served variants include the upload's own bytes are made
-- again by the next regeneration (docs/operations.md, "Presets and
-- regeneration").
--
-- Earlier versions stored a web-ready original's image data in a variant's
-- place (a manifest entry with `"reuse": "original"`,
-- packages/contracts/src/image-result.ts). That stopped because only
-- re-encoding proves that no byte of an upload (an unused DQT table, data past
-- the last scan) reaches a public variant. The preset's version did not change
-- with it, and a regeneration selects by version only (regen/selection.ts), so
-- such images were never selected. Their version becomes NULL here, which a
-- regeneration counts as "another version" (migration 009). A regeneration
-- item that an earlier version already finished at an image's current version
-- (it made the reused set) is marked cancelled: an image is made once per
-- version (regen_items' UNIQUE (image_id, preset_version)), and only a failed
-- or cancelled item is taken over by a later run (that run's counts then show
-- it cancelled, not done).
-- `variants` is the manifest as JSON text (an array of objects); a row whose
-- text is not JSON is left alone.
UPDATE regen_items SET state = 'cancelled'
WHERE state = 'done'
  AND image_id IN (
    SELECT i.id FROM images i
    WHERE i.preset_version = regen_items.preset_version
      AND json_valid(i.variants)
      AND EXISTS (
        SELECT 1 FROM json_each(i.variants) v WHERE json_extract(v.value, '$.reuse') = 'original'
      )
  );

UPDATE images SET preset_version = NULL
WHERE json_valid(variants)
  AND EXISTS (
    SELECT 1 FROM json_each(images.variants) v WHERE json_extract(v.value, '$.reuse') = 'original'
  );
