-- 030: the library's sort by the name a card shows. The console's cards show
-- an image's title, or its file name when it has none, and sorting them by
-- file name (017's `name_key`) put titled cards in no order a reader could
-- see. `title_key` is that shown name — the title, else the file name —
-- folded and padded as `name_key` is (library-keys.ts), indexed with `id` for
-- the keyset cursor, and partially for the "Missing alt text" filter as 025
-- indexes the other sorts, so a page is read in order, never sorted.
--
-- Like the other keys it is written by the backend's connection only ('' =
-- not computed yet; every row's is computed when the backend next opens the
-- database), so this file stays plain SQL (016). A rename or retitle on any
-- connection sets it to '' by the trigger below, as 022's does for the other
-- two keys; the backend's TEMP trigger on that blanking computes it again.
-- Additive: an older backend never reads the column, and the trigger only
-- blanks it.
ALTER TABLE images ADD COLUMN title_key TEXT NOT NULL DEFAULT '';
CREATE INDEX images_title_key ON images (title_key, id);
CREATE INDEX images_alt_missing_title_key ON images (title_key, id) WHERE alt_text = '';
CREATE TRIGGER images_title_key_blanked_on_rename
AFTER UPDATE OF original_name, title ON images
WHEN new.original_name IS NOT old.original_name OR new.title IS NOT old.title
BEGIN
  UPDATE images SET title_key = '' WHERE id = new.id;
END;
