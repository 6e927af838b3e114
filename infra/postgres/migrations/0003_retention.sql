-- Retention of bookkeeping rows (infra/postgres/retention.ts): the pruner finds old rows by time.
-- BRIN: both tables are written in time order, so a block-range index is a few pages, costs the
-- writers next to nothing, and lets a DELETE of the oldest rows read only their blocks.
-- IF NOT EXISTS: on a region with many rows already, build them first with CREATE INDEX
-- CONCURRENTLY under these names (this transaction would hold writes to both tables meanwhile).
CREATE INDEX IF NOT EXISTS processed_events_processed_at ON processed_events USING brin (processed_at);
CREATE INDEX IF NOT EXISTS outbox_created_at ON outbox USING brin (created_at);
