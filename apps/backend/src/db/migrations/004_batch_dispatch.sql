-- 004: batch dispatch and a reaper that checks the queue before acting
-- (docs/operations.md, "Batch ingest" and "The reaper").
--
-- outbox.batch_key: the dispatch key (Cloud Tasks task id) of the batch a row
-- belongs to. The relay sets it on every row of a batch in one transaction
-- before the first dispatch attempt, and reuses it on every retry, so a batch
-- keeps its name (and Cloud Tasks' deduplication) across crashes. NULL: a
-- single-image dispatch named by task_name, or an ingest row not yet batched.
ALTER TABLE outbox ADD COLUMN batch_key TEXT;
CREATE INDEX outbox_batch_key ON outbox (batch_key);

-- images.dispatch_key: the dispatch that carries the current generation (its
-- task id, and the `dispatch_key` label of the workflow execution the task
-- creates); NULL until dispatched, and for images dispatched before this
-- migration (their key is then taskNameFor(id, generation)).
ALTER TABLE images ADD COLUMN dispatch_key TEXT;

-- images.alive_at: the last time the reaper found the current generation's
-- dispatch alive (its task still waiting in a throttled queue, or its
-- execution still running). The reaper's deadline runs from the later of this
-- and updated_at; NULL until then.
ALTER TABLE images ADD COLUMN alive_at TEXT;
