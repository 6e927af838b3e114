/**
 * Appending to the transactional outbox: call inside the transaction that changes
 * state, so the change and its events commit or roll back together. The transaction also
 * notifies OUTBOX_CHANNEL, which wakes the relays the moment it commits (PostgreSQL NOTIFY:
 * "if a NOTIFY is executed inside a transaction, the notify events are not delivered until
 * and unless the transaction is committed"), so they need not poll to find new rows.
 */
import type pg from 'pg';
import type { DomainEvent } from '../../domains/shared/events.ts';
import { type Envelope, type EnvelopeContext, envelope } from './envelope.ts';
import { type EventRegistry, eventRegistry } from './registry.ts';

/** The relay's unit of ordering: one aggregate always maps to one lane. */
export const OUTBOX_LANES = 8;

/** The LISTEN/NOTIFY channel a committed outbox write signals on; the payload lists its lanes. */
export const OUTBOX_CHANNEL = 'meridian_outbox';

/** Tells listening relays, at commit, that `lanes` got rows (call inside the writing transaction). */
export async function notifyOutbox(client: pg.ClientBase, lanes: Iterable<number>): Promise<void> {
  await client.query('SELECT pg_notify($1, $2)', [OUTBOX_CHANNEL, [...new Set(lanes)].sort().join(',')]);
}

/** FNV-1a of the aggregate id, modulo the lane count (stable across processes). */
export function laneOf(aggregateId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < aggregateId.length; i++) {
    h ^= aggregateId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % OUTBOX_LANES;
}

/** Validates and inserts the events as outbox rows; returns their envelopes. */
export async function appendToOutbox(
  client: pg.ClientBase,
  events: readonly DomainEvent[],
  ctx: EnvelopeContext,
  registry: EventRegistry = eventRegistry(),
): Promise<Envelope[]> {
  const envelopes = events.map((e) => envelope(e, ctx));
  for (const e of envelopes) registry.assertValid(e);
  if (envelopes.length === 0) return envelopes;
  // One round trip for the rows and the notification. Rows are inserted in the order given
  // (ORDER BY the position), so `seq` — the relay's order within an aggregate — follows it.
  await client.query(
    `WITH rows AS (
       INSERT INTO outbox (event_id, topic, aggregate_id, lane, envelope)
       SELECT id, topic, aggregate, lane, envelope
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::smallint[], $5::jsonb[])
         WITH ORDINALITY AS e(id, topic, aggregate, lane, envelope, position)
       ORDER BY position
       RETURNING lane)
     SELECT pg_notify($6, string_agg(DISTINCT lane::text, ',')) FROM rows`,
    [
      envelopes.map((e) => e.id),
      envelopes.map((e) => e.type),
      envelopes.map((e) => e.subject),
      envelopes.map((e) => laneOf(e.subject)),
      envelopes.map((e) => JSON.stringify(e)),
      OUTBOX_CHANNEL,
    ],
  );
  return envelopes;
}
