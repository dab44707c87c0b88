-- 013: a regeneration's counts add up when an image it covers is deleted
-- (docs/operations.md, "Presets and regeneration").
--
-- A deleted image takes its regen_items row with it (ON DELETE CASCADE), so
-- the run's done/failed/cancelled/remaining, counted from its items, lost it
-- while regen_runs.total, written once at the start, kept it: a run ended
-- "done" with total 6, done 5, remaining 0. The image leaves the run instead:
-- its run's total goes down with the item, whatever the item's state, so
-- total = done + failed + cancelled + remaining holds for every run, running
-- or finished. Items are deleted only with their image.
CREATE TRIGGER regen_items_image_deleted AFTER DELETE ON regen_items
BEGIN
  UPDATE regen_runs SET total = max(0, total - 1) WHERE id = OLD.run_id;
END;
