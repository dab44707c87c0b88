-- 005: resumable upload sessions (docs/operations.md, "Uploads"). A browser
-- sends a large file straight to the store through a session the backend
-- opened; the object becomes an image only after the backend verified it.
-- The session's key is also in pending_originals from the moment the session
-- is opened, so nothing the session wrote can outlive it: the orphan sweeper
-- cancels a session past expires_at and deletes its object (unless an image
-- uses it). session_url is the capability to write that one object (a Cloud
-- Storage session URI, or the backend's own route locally).
CREATE TABLE upload_sessions (
  id TEXT PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  session_url TEXT NOT NULL,
  original_name TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  -- 'open': bytes may arrive; 'verifying': a complete request is checking the object.
  state TEXT NOT NULL CHECK (state IN ('open', 'verifying')),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX upload_sessions_expires ON upload_sessions (expires_at);
