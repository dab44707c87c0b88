-- 023: an index in the slideshow's own order (library-repository.ts SLIDESHOW_QUERY), so
-- the public list and the admin's Slideshow panel read their first rows from it instead of
-- sorting every shown image on each request: at 100,000 shown images that sort took ~0.5 s
-- of the event loop per viewer, 304s included. Additive (the older images_slideshow stays
-- for releases that still name it; expand, then contract: db/migrate.ts).
CREATE INDEX images_slideshow_order ON images (
  status,
  published,
  (slide_position IS NULL),
  slide_position,
  processed_at DESC,
  id DESC
);
