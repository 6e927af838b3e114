-- Single-writer aggregates (orders): which region may write them, under an epoch that only
-- grows. Each region holds its own copy; a move bumps the epoch in every region it reaches,
-- and a region adopts a peer's lease only when its epoch is higher. A write of such an
-- aggregate reads the row FOR SHARE in its own transaction, so a move (an UPDATE) waits for
-- writes in flight and no write commits under a lease that has moved on.
CREATE TABLE writer_leases (
  aggregate   text PRIMARY KEY,
  writer      text NOT NULL,
  epoch       bigint NOT NULL CHECK (epoch >= 0),
  moved_at    timestamptz NOT NULL DEFAULT now()
);
