-- Partners: webhook endpoints, the messages they are owed, every delivery and attempt.
CREATE TABLE webhook_endpoints (
  id                          text PRIMARY KEY,
  tenant                      text NOT NULL,
  url                         text NOT NULL,
  description                 text NOT NULL DEFAULT '',
  event_types                 text[] NOT NULL,
  status                      text NOT NULL CHECK (status IN ('ENABLED', 'DISABLED')),
  disabled_reason             text CHECK (disabled_reason IN ('MANUAL', 'GONE', 'FAILING')),
  secret                      text NOT NULL,
  previous_secret             text,
  previous_secret_expires_at  timestamptz,
  -- First failed attempt of the current unbroken run of failures (NULL while healthy).
  failing_since               timestamptz,
  version                     integer NOT NULL DEFAULT 1,
  created_at                  timestamptz NOT NULL,
  updated_at                  timestamptz NOT NULL
);
CREATE INDEX webhook_endpoints_by_tenant ON webhook_endpoints (tenant, created_at);

-- One row per tenant and event: the exact body every attempt sends.
CREATE TABLE webhook_messages (
  id           text PRIMARY KEY,
  tenant       text NOT NULL,
  event_id     uuid NOT NULL,
  event_type   text NOT NULL,
  occurred_at  timestamptz NOT NULL,
  payload      text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant, event_id)
);
CREATE INDEX webhook_messages_by_time ON webhook_messages (tenant, occurred_at);

CREATE TABLE webhook_deliveries (
  endpoint_id       text NOT NULL REFERENCES webhook_endpoints (id),
  message_id        text NOT NULL REFERENCES webhook_messages (id),
  status            text NOT NULL CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
  round             integer NOT NULL DEFAULT 1,
  attempts          integer NOT NULL DEFAULT 0,
  next_attempt_at   timestamptz,
  last_status_code  integer,
  last_error        text,
  updated_at        timestamptz NOT NULL,
  PRIMARY KEY (endpoint_id, message_id)
);
-- The sweeper's question: which pending deliveries are overdue?
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (next_attempt_at) WHERE status = 'PENDING';

CREATE TABLE webhook_attempts (
  endpoint_id     text NOT NULL,
  message_id      text NOT NULL,
  round           integer NOT NULL,
  attempt         integer NOT NULL,
  at              timestamptz NOT NULL,
  status_code     integer,
  latency_ms      integer NOT NULL,
  success         boolean NOT NULL,
  error           text,
  response_body   text,
  PRIMARY KEY (endpoint_id, message_id, round, attempt),
  FOREIGN KEY (endpoint_id, message_id) REFERENCES webhook_deliveries (endpoint_id, message_id)
);

-- Legacy partners (AMQP and SOAP): the id is the user name on both.
CREATE TABLE legacy_partners (
  id                   text PRIMARY KEY,
  tenant               text NOT NULL,
  name                 text NOT NULL,
  status               text NOT NULL CHECK (status IN ('ACTIVE', 'DISABLED')),
  rate_per_second      integer NOT NULL CHECK (rate_per_second > 0),
  max_queued           integer NOT NULL CHECK (max_queued > 0),
  inbound_event_types  text[] NOT NULL,
  password_hash        text NOT NULL,
  created_at           timestamptz NOT NULL,
  updated_at           timestamptz NOT NULL
);
CREATE INDEX legacy_partners_by_tenant ON legacy_partners (tenant, created_at);
