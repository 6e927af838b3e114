-- The idempotency key an order was placed under, on the order itself (written by the writer
-- and by the standby copy alike): the keys table keeps only the first order each region saw
-- for a key, but around a failover one key can end up with two orders (a write in flight in
-- the old writer, retried in the new one), and the payment processor must see both to charge
-- only one.
ALTER TABLE orders ADD COLUMN idempotency_key text;
CREATE INDEX orders_by_idempotency_key ON orders (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;
