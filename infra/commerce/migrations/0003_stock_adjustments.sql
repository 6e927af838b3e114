-- Stock adjustments from outside an order (goods received, counts corrected): one row per
-- adjustment id, so a repeated adjustment changes stock once and answers the first result.
CREATE TABLE inventory_adjustments (
  adjustment_id    text PRIMARY KEY,
  tenant           text NOT NULL,
  product_id       text NOT NULL REFERENCES products (id),
  delta            integer NOT NULL CHECK (delta <> 0),
  available_after  integer NOT NULL CHECK (available_after >= 0),
  reason           text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now()
);
