-- 025: the library's "Missing alt text" filter (GET /api/admin/images?alt=missing,
-- library-repository.ts). Partial indexes holding only the images with no alt
-- text (`alt_text = ''`: the API stores a blank one as '', library/description.ts),
-- one per sort and one for the status filter with the date sort, so a page of
-- them is read in order from an index however few they are among the rest.
-- Without them a page scanned the sort's index (or the status index) past every
-- described image: 30–40 ms of the event loop per page at 100,000 images of
-- which 10 had no alt text, against under 1 ms with them (EXPLAIN QUERY PLAN in
-- test/library-alt-text.test.ts). The listing writes the term as the literal
-- `i.alt_text = ''`: SQLite uses a partial index only for a query term that
-- matches its WHERE as written. Additive: an older backend never names them.
CREATE INDEX images_alt_missing_created ON images (created_at, id) WHERE alt_text = '';
CREATE INDEX images_alt_missing_name_key ON images (name_key, id) WHERE alt_text = '';
CREATE INDEX images_alt_missing_bytes ON images (bytes, id) WHERE alt_text = '';
CREATE INDEX images_alt_missing_status_created ON images (status, created_at, id)
  WHERE alt_text = '';
