-- 012: the dispatch that carries a regeneration (docs/operations.md, "Presets
-- and regeneration").
--
-- regen_items.dispatch_key: the key of the Cloud Tasks task and the
-- `dispatch_key` label of the workflow execution that carry the item's
-- generation — its outbox row's task name, or its batch's key — recorded by
-- the outbox relay once the task exists (outbox-relay.ts `finish`), as
-- images.dispatch_key is for an image's own dispatch. NULL while the item is
-- pending or its outbox row not yet sent; a new dispatch resets it. With it
-- the regenerator asks the pipeline whether a dispatch with no report is
-- still alive (regen/lost-dispatches.ts) and fails an item whose execution
-- ended without reporting it, instead of waiting for REGEN_STUCK_AFTER_MS.
-- Items already sent when this runs have no key: only that timeout ends them
-- (an item whose outbox row is still unsent gets its key when it is sent).
ALTER TABLE regen_items ADD COLUMN dispatch_key TEXT;
CREATE INDEX regen_items_dispatch_key ON regen_items (state, id) WHERE dispatch_key IS NOT NULL;
