-- 007: failures of the dispatch itself (docs/reliability.md, "Who retries what").
-- When the queue service refuses an image's dispatch for good (PERMISSION_DENIED,
-- a deleted queue) or the outbox relay reaches its attempt cap, the relay fails
-- the image with a failed_tasks row of source 'dispatch' instead of retrying
-- forever (outbox-relay.ts, lifecycle.ts `dispatchFailed`).
--
-- SQLite cannot change a CHECK constraint in place, so failed_tasks is rebuilt
-- (https://www.sqlite.org/lang_altertable.html#otheralter: create the new table,
-- copy, drop the old one, rename). No table references failed_tasks; its two
-- image_events triggers (migration 006) go with the old table and are created
-- again on the new one, word for word.

CREATE TABLE failed_tasks_007 (
  id INTEGER PRIMARY KEY,
  image_id TEXT NOT NULL UNIQUE REFERENCES images (id) ON DELETE CASCADE,
  error_code TEXT NOT NULL,
  error_message TEXT NOT NULL,
  attempt_count INTEGER NOT NULL DEFAULT 1,
  last_attempt TEXT NOT NULL,
  execution TEXT,
  source TEXT NOT NULL CHECK (source IN ('processor', 'workflow', 'reaper', 'dispatch')),
  created_at TEXT NOT NULL,
  resolved_at TEXT
);
INSERT INTO failed_tasks_007 (id, image_id, error_code, error_message, attempt_count, last_attempt,
  execution, source, created_at, resolved_at)
SELECT id, image_id, error_code, error_message, attempt_count, last_attempt, execution, source,
  created_at, resolved_at
FROM failed_tasks;
DROP TABLE failed_tasks;
ALTER TABLE failed_tasks_007 RENAME TO failed_tasks;
CREATE INDEX failed_tasks_last_attempt ON failed_tasks (last_attempt);

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

-- An outbox row deleted because the relay gave up is not a dispatch: the relay
-- records the open 'dispatch' failure first, in the same transaction, and the
-- timeline shows that failure instead.
DROP TRIGGER image_events_dispatched;
CREATE TRIGGER image_events_dispatched AFTER DELETE ON outbox
WHEN EXISTS (SELECT 1 FROM images WHERE id = old.image_id)
  AND NOT EXISTS (
    SELECT 1 FROM failed_tasks f
    WHERE f.image_id = old.image_id AND f.source = 'dispatch' AND f.resolved_at IS NULL
  )
BEGIN
  INSERT INTO image_events (image_id, at, kind, generation, detail)
  VALUES (old.image_id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'dispatched', old.generation,
    old.queue || ' ' || coalesce(old.batch_key, old.task_name));
END;
