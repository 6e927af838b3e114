-- Outbox relay state, one row per lane. `inflight` is the batch a relay is about to send,
-- committed BEFORE the send: its event ids and, per target topic, the partition end offsets
-- read just before sending ({"eventIds": [...], "offsets": {"<topic>": {"<partition>": "<offset>"}}}).
-- It is cleared in the transaction that marks the batch published, so a non-null value
-- means "this batch may be partly or wholly in Kafka": whoever next owns the lane reads
-- those partitions from the recorded offsets and marks what it finds before sending more.
-- Lane ownership itself is a session advisory lock, not a column, so it dies with its owner.
CREATE TABLE outbox_lanes (
  lane        smallint PRIMARY KEY,
  inflight    jsonb,
  owner       text,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
