-- Commerce: catalog + stock, reservations, orders, idempotency keys.
CREATE TABLE products (
  id           text PRIMARY KEY,
  sku          text NOT NULL UNIQUE,
  name         text NOT NULL,
  description  text NOT NULL DEFAULT '',
  price_cents  integer NOT NULL CHECK (price_cents >= 0),
  currency     text NOT NULL DEFAULT 'USD',
  -- Never negative: the last line of defence against overselling.
  stock        integer NOT NULL CHECK (stock >= 0),
  version      bigint NOT NULL DEFAULT 1,
  updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE inventory_reservations (
  order_id     uuid NOT NULL,
  product_id   text NOT NULL REFERENCES products (id),
  tenant       text NOT NULL,
  quantity     integer NOT NULL CHECK (quantity > 0),
  status       text NOT NULL CHECK (status IN ('RESERVED', 'RELEASED')),
  created_at   timestamptz NOT NULL DEFAULT now(),
  released_at  timestamptz,
  release_reason text,
  PRIMARY KEY (order_id, product_id)
);

CREATE TABLE orders (
  id             uuid PRIMARY KEY,
  tenant         text NOT NULL,
  user_id        text NOT NULL,
  status         text NOT NULL CHECK (status IN ('PENDING', 'CONFIRMED', 'CANCELLED')),
  total_cents    integer NOT NULL CHECK (total_cents >= 0),
  currency       text NOT NULL,
  payment_token  text NOT NULL,
  cancel_reason  text,
  version        integer NOT NULL DEFAULT 1,
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL
);
CREATE INDEX orders_by_user ON orders (tenant, user_id, created_at DESC);

CREATE TABLE order_items (
  order_id          uuid NOT NULL REFERENCES orders (id),
  line              integer NOT NULL,
  product_id        text NOT NULL,
  quantity          integer NOT NULL CHECK (quantity > 0),
  unit_price_cents  integer NOT NULL CHECK (unit_price_cents >= 0),
  PRIMARY KEY (order_id, line)
);

CREATE TABLE idempotency_keys (
  tenant        text NOT NULL,
  key           text NOT NULL,
  request_hash  text NOT NULL,
  order_id      uuid NOT NULL REFERENCES orders (id),
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, key)
);

