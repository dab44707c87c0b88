-- 002: originals an upload is writing. The row is added just before the object
-- is written and removed in the transaction that adds the image row (or once a
-- refused upload's object is deleted), so the orphan sweeper deletes only
-- objects it can prove the backend wrote and never committed
-- (src/orphan-sweeper.ts). Ingested objects never have a row here.

CREATE TABLE pending_originals (
  key TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL
);
CREATE INDEX pending_originals_created ON pending_originals (created_at);

-- The sweeper also checks that no image uses a key as its source before deleting it.
CREATE INDEX images_source_key ON images (source_key);
