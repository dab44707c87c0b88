-- 029: how long a regeneration run was paused (docs/operations.md, "Presets
-- and regeneration"), so its ETA takes the pace of the time it ran: after a
-- 90 s pause an ETA of 108 s read 249 s, since the pace counted the pause.
--
-- regen_runs.paused_at: epoch milliseconds at which the current pause began;
-- NULL while the run is not paused. regen_runs.paused_ms: the paused time
-- after the run's first dispatch, added up at each resume. An older backend
-- ignores both (its ETA counts pauses, as before).
ALTER TABLE regen_runs ADD COLUMN paused_at INTEGER;
ALTER TABLE regen_runs ADD COLUMN paused_ms INTEGER NOT NULL DEFAULT 0;
-- A run paused when this runs was paused when it last changed (updated_at, ISO-8601 UTC).
UPDATE regen_runs SET paused_at = CAST(round((julianday(updated_at) - 2440587.5) * 86400000) AS INTEGER)
WHERE status = 'paused';
