-- 001: images, failed_tasks (the seed's table plus code/source/execution/resolved_at),
-- the dispatch outbox, admin sessions and small key/value settings.
-- Times people read with the sqlite3 CLI are ISO-8601 UTC text; times the
-- relay schedules by are epoch milliseconds.

CREATE TABLE images (
  id TEXT PRIMARY KEY,
  original_name TEXT NOT NULL,
  content_type TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  sha256 TEXT NOT NULL UNIQUE,
  source_key TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('uploaded', 'queued', 'processing', 'processed', 'failed')),
  generation INTEGER NOT NULL DEFAULT 0,
  priority TEXT NOT NULL CHECK (priority IN ('interactive', 'batch')),
  preset TEXT NOT NULL,
  width INTEGER,
  height INTEGER,
  format TEXT,
  has_alpha INTEGER,
  frames INTEGER,
  variants TEXT,
  placeholder TEXT,
  dominant_color TEXT,
  timings TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error_code TEXT,
  execution TEXT,
  reaped_count INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  processed_at TEXT
);
CREATE INDEX images_status_created ON images (status, created_at, id);
CREATE INDEX images_created ON images (created_at, id);

CREATE TABLE failed_tasks (
  id INTEGER PRIMARY KEY,
  image_id TEXT NOT NULL UNIQUE REFERENCES images (id) ON DELETE CASCADE,
  error_code TEXT NOT NULL,
  error_message TEXT NOT NULL,
  attempt_count INTEGER NOT NULL DEFAULT 1,
  last_attempt TEXT NOT NULL,
  execution TEXT,
  source TEXT NOT NULL CHECK (source IN ('processor', 'workflow', 'reaper')),
  created_at TEXT NOT NULL,
  resolved_at TEXT
);
CREATE INDEX failed_tasks_last_attempt ON failed_tasks (last_attempt);

CREATE TABLE outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  image_id TEXT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
  generation INTEGER NOT NULL,
  queue TEXT NOT NULL CHECK (queue IN ('uploads', 'ingest')),
  task_name TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  UNIQUE (image_id, generation)
);
CREATE INDEX outbox_due ON outbox (next_attempt_at, id);

CREATE TABLE sessions (
  id_hash TEXT PRIMARY KEY,
  csrf_token TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);

CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
