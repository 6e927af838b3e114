-- Platform tables every domain's writes share: the transactional outbox and consumers' processed marks.
-- Transactional outbox: written in the same transaction as the state change, published
-- to Kafka by the relay. seq orders events; lane partitions the relay's work by aggregate
-- so one aggregate's events are always published by one relay, in seq order.
CREATE TABLE outbox (
  seq           bigserial PRIMARY KEY,
  event_id      uuid NOT NULL UNIQUE,
  topic         text NOT NULL,
  aggregate_id  text NOT NULL,
  lane          smallint NOT NULL,
  envelope      jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  published_at  timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (lane, seq) WHERE published_at IS NULL;

-- Idempotent consumers: one row per (consumer, event) processed, written in the same
-- transaction as the consumer's effect.
CREATE TABLE processed_events (
  consumer      text NOT NULL,
  event_id      uuid NOT NULL,
  processed_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);

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
