-- 015: a session is bound to the admin password it was opened with
-- (docs/security.md, "Threats and what stops them"; auth/admin-auth.ts).
--
-- A new ADMIN_PASSWORD or ADMIN_PASSWORD_HASH left every session open for
-- up to 12 h. Each session now records a fingerprint of the password hash
-- (a sha256 of it, never the hash), and a session whose fingerprint is not
-- the running backend's is no session. Rows from before carry '' here, which
-- is nobody's fingerprint: they end.
ALTER TABLE sessions ADD COLUMN password_fingerprint TEXT NOT NULL DEFAULT '';
