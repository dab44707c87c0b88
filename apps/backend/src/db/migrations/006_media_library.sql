-- 006: the media library. Per image an editable title, caption and alt text,
-- whether the slideshow shows it (`published`) and where (`slide_position`;
-- NULL = not placed by an admin, shown after the placed ones, newest first).
-- The CHECKs repeat the API's length limits so no writer can exceed them.
--
-- `image_events` is each image's timeline (uploaded, dispatched, every
-- attempt with its execution, the outcome, retries). It is written by
-- triggers, not by the code that changes state, so every writer (upload,
-- ingest, relay, callbacks, reaper, retries, scripts using sqlite3) is
-- recorded without each having to remember to.

ALTER TABLE images ADD COLUMN title TEXT NOT NULL DEFAULT '' CHECK (length(title) <= 200);
ALTER TABLE images ADD COLUMN caption TEXT NOT NULL DEFAULT '' CHECK (length(caption) <= 2000);
ALTER TABLE images ADD COLUMN alt_text TEXT NOT NULL DEFAULT '' CHECK (length(alt_text) <= 1000);
ALTER TABLE images ADD COLUMN published INTEGER NOT NULL DEFAULT 1 CHECK (published IN (0, 1));
ALTER TABLE images ADD COLUMN slide_position INTEGER;

CREATE INDEX images_name ON images (original_name COLLATE NOCASE, id);
CREATE INDEX images_bytes ON images (bytes, id);
CREATE INDEX images_slideshow ON images (status, published, slide_position, processed_at);

CREATE TABLE image_events (
  id INTEGER PRIMARY KEY,
  image_id TEXT NOT NULL,
  at TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('uploaded', 'dispatched', 'started', 'processed', 'failed', 'requeued')),
  generation INTEGER NOT NULL,
  attempt INTEGER,
  execution TEXT,
  code TEXT,
  detail TEXT
);
CREATE INDEX image_events_image ON image_events (image_id, id);

CREATE TRIGGER image_events_uploaded AFTER INSERT ON images
BEGIN
  INSERT INTO image_events (image_id, at, kind, generation, detail)
  VALUES (new.id, new.created_at, 'uploaded', new.generation, new.priority);
END;

-- The outbox row goes once its task exists (outbox-relay.ts); an image's
-- deletion cascades to its rows too, which is not a dispatch. A row of a
-- batch (migration 004) was sent in the batch's task, named by batch_key;
-- its own task_name is a single-image name no task was created under.
CREATE TRIGGER image_events_dispatched AFTER DELETE ON outbox
WHEN EXISTS (SELECT 1 FROM images WHERE id = old.image_id)
BEGIN
  INSERT INTO image_events (image_id, at, kind, generation, detail)
  VALUES (old.image_id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'dispatched', old.generation,
    old.queue || ' ' || coalesce(old.batch_key, old.task_name));
END;

CREATE TRIGGER image_events_started AFTER UPDATE OF attempts ON images
WHEN new.attempts > old.attempts
BEGIN
  INSERT INTO image_events (image_id, at, kind, generation, attempt, execution)
  VALUES (new.id, new.updated_at, 'started', new.generation, new.attempts, new.execution);
END;

CREATE TRIGGER image_events_processed AFTER UPDATE OF status ON images
WHEN new.status = 'processed' AND old.status <> 'processed'
BEGIN
  INSERT INTO image_events (image_id, at, kind, generation, attempt, execution)
  VALUES (new.id, new.updated_at, 'processed', new.generation, new.attempts, new.execution);
END;

CREATE TRIGGER image_events_requeued AFTER UPDATE OF generation ON images
WHEN new.generation > old.generation
BEGIN
  INSERT INTO image_events (image_id, at, kind, generation, detail)
  VALUES (new.id, new.updated_at, 'requeued', new.generation,
    CASE WHEN new.reaped_count > old.reaped_count THEN 'reaper' ELSE 'retry' END);
END;

-- Failures are taken from failed_tasks, which has the message and the source.
CREATE TRIGGER image_events_failed AFTER INSERT ON failed_tasks
BEGIN
  INSERT INTO image_events (image_id, at, kind, generation, attempt, execution, code, detail)
  SELECT new.image_id, new.last_attempt, 'failed', i.generation, i.attempts, new.execution,
    new.error_code, new.source || ': ' || new.error_message
  FROM images i WHERE i.id = new.image_id;
END;

CREATE TRIGGER image_events_failed_again AFTER UPDATE OF attempt_count ON failed_tasks
WHEN new.attempt_count > old.attempt_count
BEGIN
  INSERT INTO image_events (image_id, at, kind, generation, attempt, execution, code, detail)
  SELECT new.image_id, new.last_attempt, 'failed', i.generation, i.attempts, new.execution,
    new.error_code, new.source || ': ' || new.error_message
  FROM images i WHERE i.id = new.image_id;
END;

CREATE TRIGGER image_events_forget AFTER DELETE ON images
BEGIN
  DELETE FROM image_events WHERE image_id = old.id;
END;
