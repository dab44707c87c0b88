-- 022: a rename or retitle by any connection drops the library's stored keys
-- (library-keys.ts), so they are never those of an old name or title.
--
-- The keys are computed by the backend's connection only (migration 016): a
-- title changed by an older backend (one from before 016 keeps no keys at
-- all), a script or `sqlite3` left the keys of the old title in place, and
-- the backend recomputes only keys that are '' ("not computed"), so a search
-- found the old title and not the new one, for good. This trigger belongs to
-- the database, so it runs on every connection, and it sets both keys back to
-- '': the library then folds such a row on the fly, and the backend keys it
-- at its next open. On the backend's own connection a TEMP trigger on that
-- blanking computes them again at once (library-keys.ts). Plain SQL, as 016
-- requires: no connection but the backend's has the fold.
CREATE TRIGGER images_keys_blanked_on_rename
AFTER UPDATE OF original_name, title ON images
WHEN new.original_name IS NOT old.original_name OR new.title IS NOT old.title
BEGIN
  UPDATE images SET search_text = '', name_key = '' WHERE id = new.id;
END;
