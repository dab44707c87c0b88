-- 009: presets as data and regeneration (docs/operations.md, "Presets and regeneration").
--
-- images.preset_version: the content hash of the preset (packages/imaging
-- preset-config.ts) that made the variants the image serves; NULL for images
-- processed before presets were versioned, which a regeneration treats as
-- "another version".
ALTER TABLE images ADD COLUMN preset_version TEXT;

-- One regeneration run: what it selects, the preset it makes, its caps and
-- counts. Durable, so a restarted backend carries on where it stopped.
CREATE TABLE regen_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  preset TEXT NOT NULL,
  preset_version TEXT NOT NULL,
  filter TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('running', 'paused', 'cancelled', 'done', 'capped')),
  status_reason TEXT,
  total INTEGER NOT NULL,
  -- Caps copied from the configuration when the run starts.
  max_executions INTEGER NOT NULL,
  max_failures INTEGER NOT NULL,
  -- Image dispatches so far (each is one processor task, retried by Cloud Run up to its maxRetries).
  executions INTEGER NOT NULL DEFAULT 0,
  -- Estimates of the dry run the run was started from.
  estimate_cpu_seconds REAL NOT NULL,
  estimate_cost_usd REAL NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  finished_at TEXT
);

-- One image of a run. UNIQUE (image_id, preset_version): an image is made
-- once per preset version, whatever the runs; a later run takes over a row
-- that failed or was cancelled.
CREATE TABLE regen_items (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id INTEGER NOT NULL REFERENCES regen_runs (id),
  image_id TEXT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
  preset TEXT NOT NULL,
  preset_version TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'dispatched', 'done', 'failed', 'cancelled')),
  -- The generation the regeneration runs as: above the image's and every earlier
  -- regeneration's, so its task name is new and late reports of others are stale.
  generation INTEGER,
  megapixels REAL NOT NULL,
  cpu_ms REAL,
  error_code TEXT,
  dispatched_at INTEGER,
  finished_at INTEGER,
  UNIQUE (image_id, preset_version)
);
CREATE INDEX regen_items_run_state ON regen_items (run_id, state);
CREATE INDEX regen_items_dispatched ON regen_items (dispatched_at);

-- Objects to delete once their grace period is over: a replaced variant set
-- keeps serving pages and caches that still name it until then.
CREATE TABLE deferred_deletions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  prefix TEXT NOT NULL UNIQUE,
  image_id TEXT NOT NULL,
  delete_after INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX deferred_deletions_due ON deferred_deletions (delete_after);

-- Measured cost per preset version: CPU time and source megapixels of every
-- processed image that reported its CPU (the dry run's per-megapixel cost).
CREATE TABLE preset_costs (
  preset_version TEXT PRIMARY KEY,
  preset TEXT NOT NULL,
  images INTEGER NOT NULL,
  megapixels REAL NOT NULL,
  cpu_ms REAL NOT NULL
);

-- failed_tasks.source gains 'regenerate' (a failed regeneration; the image keeps
-- its old variants). Rebuilt as in 007 (https://www.sqlite.org/lang_altertable.html#otheralter);
-- the triggers that name failed_tasks are dropped first and created again word for word.
DROP TRIGGER image_events_dispatched;
CREATE TABLE failed_tasks_009 (
  id INTEGER PRIMARY KEY,
  image_id TEXT NOT NULL UNIQUE REFERENCES images (id) ON DELETE CASCADE,
  error_code TEXT NOT NULL,
  error_message TEXT NOT NULL,
  attempt_count INTEGER NOT NULL DEFAULT 1,
  last_attempt TEXT NOT NULL,
  execution TEXT,
  source TEXT NOT NULL CHECK (source IN ('processor', 'workflow', 'reaper', 'dispatch', 'regenerate')),
  created_at TEXT NOT NULL,
  resolved_at TEXT
);
INSERT INTO failed_tasks_009 (id, image_id, error_code, error_message, attempt_count, last_attempt,
  execution, source, created_at, resolved_at)
SELECT id, image_id, error_code, error_message, attempt_count, last_attempt, execution, source,
  created_at, resolved_at
FROM failed_tasks;
DROP TABLE failed_tasks;
ALTER TABLE failed_tasks_009 RENAME TO failed_tasks;
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
