-- 017: the library's sort by name. `name_key` is the file name folded as
-- for search (016) with every run of digits zero-padded to 20 places
-- (library-keys.ts), so sorting by it puts `Été` between `apple` and `w319`
-- instead of after `z` (NOCASE folds ASCII only) and `w319` before `w1279`.
-- Like `search_text` it is written by the backend's connection only ('' =
-- not computed yet; computed when the backend opens the database), so this
-- file stays plain SQL. The listing sorts and pages by (name_key, id); the
-- NOCASE index it used before is no longer read.
ALTER TABLE images ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
DROP INDEX images_name;
CREATE INDEX images_name_key ON images (name_key, id);
