-- Single writer (docs/deploy.md, "One writer: the database lease"). Every
-- instance that acquires the lease records its epoch here right after it
-- restored the database, before it accepts a write. A database restored later
-- therefore names the last writer whose changes it contains: a restore whose
-- highest epoch is below the lease's previous epoch reveals a replica that
-- misses that writer's changes (a writer that died before its first sync, or
-- a stale writer's replication picked by the restore).
CREATE TABLE writer_epochs (
  epoch INTEGER PRIMARY KEY,
  owner TEXT NOT NULL,
  revision TEXT,
  -- The highest epoch found in the restored database (NULL: none, a first start).
  restored_epoch INTEGER,
  -- The lease's epoch before this writer (0: no lease existed).
  previous_epoch INTEGER NOT NULL,
  started_at TEXT NOT NULL
);
