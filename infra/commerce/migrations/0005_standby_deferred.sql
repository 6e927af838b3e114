-- Standby copy: a peer's state change or stock release that arrived before what it changes
-- (topics are not ordered with each other), parked until its order.created or reservation is
-- projected, then applied in version order. Parking instead of retrying keeps an orphan (an
-- order whose creation never arrives) from holding up the events behind it.
CREATE TABLE standby_deferred (
  event_id     uuid PRIMARY KEY,
  order_id     uuid NOT NULL,
  envelope     jsonb NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX standby_deferred_by_order ON standby_deferred (order_id);
