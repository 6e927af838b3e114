-- Retention of bookkeeping rows (infra/postgres/retention.ts): the pruner finds old rows by time.
-- BRIN: both tables are written in time order, so a block-range index is a few pages, costs the
-- writers next to nothing, and lets a DELETE of the oldest rows read only their blocks.
CREATE INDEX processed_events_processed_at ON processed_events USING brin (processed_at);
CREATE INDEX outbox_created_at ON outbox USING brin (created_at);
