-- 014: a session is the `sid` cookie AND the token its login answered
-- (docs/security.md, "Defences"; auth/admin-auth.ts).
--
-- Browsers send a host's cookies to every port of it, so any other server on
-- 127.0.0.1 the admin's browser visits received `sid`, and with it the whole
-- session: GET /api/admin/session handed the CSRF token to whoever held the
-- cookie. The token is now the session's second credential, kept by the
-- admin page in localStorage (which is per origin, port included) and sent
-- as X-CSRF-Token on every request; it is stored as a sha256, like the id.
-- Sessions of the old shape kept their token in clear: they end here (the
-- admin logs in once more).
DROP TABLE sessions;
CREATE TABLE sessions (
  id_hash TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
