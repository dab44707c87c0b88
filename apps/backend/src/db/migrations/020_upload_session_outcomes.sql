-- 020: what a completed resumable upload session became, kept until the
-- session's own expiry (upload_sessions.expires_at): a client whose answer to
-- `complete` was lost sends `complete` again and gets the same 202 answer,
-- not 404 for a session row that is gone (apps/backend/README.md, "HTTP API").
-- image_id is the image it became, or the existing one for a duplicate (no
-- foreign key: the image may be deleted later, and then the outcome is not
-- answered). Rows past expires_at are deleted by the next completion.
CREATE TABLE upload_session_outcomes (
  id TEXT PRIMARY KEY,
  image_id TEXT NOT NULL,
  status TEXT NOT NULL,
  duplicate INTEGER NOT NULL CHECK (duplicate IN (0, 1)),
  original_name TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX upload_session_outcomes_expires ON upload_session_outcomes (expires_at);
