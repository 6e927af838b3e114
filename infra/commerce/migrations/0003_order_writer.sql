-- Which region wrote an order, under which writer epoch (platform writer_leases): the
-- failover drill checks that no epoch's orders were accepted by two regions. NULL for a
-- standby copy projected from the peer's events.
ALTER TABLE orders ADD COLUMN writer_region text;
ALTER TABLE orders ADD COLUMN writer_epoch bigint;
CREATE INDEX orders_by_writer_epoch ON orders (writer_epoch) WHERE writer_epoch IS NOT NULL;
