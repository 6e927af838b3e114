/**
 * The standby copy of the peer's orders on a real PostgreSQL (a scratch database): an order's
 * creation and its confirmation arrive on different topics, so different processors apply them
 * at the same time; whichever commits first, the copy ends CONFIRMED with nothing left parked.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Envelope } from '../events/envelope.ts';
import { PLATFORM_MIGRATIONS } from '../postgres/migrate.ts';
import { type ScratchDatabase, scratchDatabase } from '../postgres/scratch-database.testing.ts';
import { COMMERCE_MIGRATIONS } from './migrations.ts';
import { applyPeerEvent } from './order-standby.postgres.ts';

function envelope(type: string, orderId: string, data: Record<string, unknown>): Envelope {
  return {
    specversion: '1.0',
    id: randomUUID(),
    type,
    source: '/regions/west/commerce',
    time: new Date().toISOString(),
    subject: orderId,
    tenant: 'standby-t',
    traceparent: '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01',
    datacontenttype: 'application/json',
    data: { orderId, userId: 'u1', ...data },
  };
}

/** The peer's order.created event of an empty PENDING order; `data` adds to it. */
function created(orderId: string, data: Record<string, unknown> = {}): Envelope {
  return envelope('commerce.order.created.v1', orderId, {
    status: 'PENDING',
    items: [],
    totalCents: 100,
    currency: 'USD',
    paymentToken: 'tok_visa',
    version: 1,
    ...data,
  });
}

/** The peer's order.confirmed event (version 2). */
function confirmed(orderId: string): Envelope {
  return envelope('commerce.order.confirmed.v1', orderId, { status: 'CONFIRMED', version: 2 });
}

describe('standby copy of peer orders (PostgreSQL)', () => {
  let db: ScratchDatabase;
  before(async () => {
    db = await scratchDatabase('standby', [PLATFORM_MIGRATIONS, COMMERCE_MIGRATIONS]);
  });
  after(() => db?.drop());

  it('a creation and its confirmation applied at the same moment leave the order CONFIRMED, nothing parked', async () => {
    const orders = Array.from({ length: 40 }, () => randomUUID());
    await Promise.all(
      orders.flatMap((orderId) => [
        applyPeerEvent(db.postgres.pool, created(orderId)),
        applyPeerEvent(db.postgres.pool, confirmed(orderId)),
      ]),
    );
    const { rows } = await db.postgres.pool.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM orders WHERE id = ANY($1::uuid[]) GROUP BY status',
      [orders],
    );
    assert.deepEqual(rows, [{ status: 'CONFIRMED', n: orders.length }]);
    const parked = await db.postgres.pool.query('SELECT 1 FROM standby_deferred');
    assert.equal(parked.rowCount, 0, 'nothing left parked');
  });

  it("many orders' reservations of the same products, listed in either order, applied at once: no deadlock, every unit counted", async () => {
    const [a, b] = [`p-standby-a-${randomUUID()}`, `p-standby-b-${randomUUID()}`];
    for (const id of [a, b])
      await db.postgres.pool.query(
        'INSERT INTO products (id, sku, name, price_cents, stock) VALUES ($1, $1, $1, 100, 1000)',
        [id],
      );
    const orders = Array.from({ length: 30 }, (_, i) => ({ orderId: randomUUID(), flipped: i % 2 === 1 }));
    // As the standby processors apply them: four at a time per partition, each in its own transaction.
    await Promise.all(
      orders.map(({ orderId, flipped }) =>
        applyPeerEvent(
          db.postgres.pool,
          envelope('commerce.inventory.reserved.v1', orderId, {
            items: flipped
              ? [
                  { productId: b, quantity: 2 },
                  { productId: a, quantity: 1 },
                ]
              : [
                  { productId: a, quantity: 1 },
                  { productId: b, quantity: 2 },
                ],
          }),
        ),
      ),
    );
    const { rows } = await db.postgres.pool.query<{ id: string; stock: number }>(
      'SELECT id, stock FROM products WHERE id = ANY($1) ORDER BY id',
      [[a, b]],
    );
    assert.deepEqual(rows, [
      { id: a, stock: 1000 - orders.length },
      { id: b, stock: 1000 - 2 * orders.length },
    ]);
  });

  it('the same user and idempotency key in two tenants, applied at once: each tenant keeps its own order', async () => {
    const key = `k-twin-${randomUUID()}`;
    const tenants = ['standby-acme', 'standby-globex'];
    const orderOf = new Map(tenants.map((t) => [t, randomUUID()]));
    await Promise.all(
      tenants.flatMap((tenant) => {
        const orderId = orderOf.get(tenant) as string;
        const events = [created(orderId, { idempotencyKey: key, requestHash: `hash-${tenant}` }), confirmed(orderId)];
        return events.map((e) => applyPeerEvent(db.postgres.pool, { ...e, tenant }));
      }),
    );
    const orders = await db.postgres.pool.query<{ tenant: string; id: string; user_id: string; status: string }>(
      'SELECT tenant, id::text, user_id, status FROM orders WHERE id = ANY($1::uuid[]) ORDER BY tenant',
      [[...orderOf.values()]],
    );
    assert.deepEqual(
      orders.rows,
      tenants.map((tenant) => ({ tenant, id: orderOf.get(tenant), user_id: 'u1', status: 'CONFIRMED' })),
    );
    const keys = await db.postgres.pool.query<{ tenant: string; order_id: string; request_hash: string }>(
      'SELECT tenant, order_id::text, request_hash FROM idempotency_keys WHERE key = $1 ORDER BY tenant',
      [key],
    );
    assert.deepEqual(
      keys.rows,
      tenants.map((tenant) => ({ tenant, order_id: orderOf.get(tenant), request_hash: `hash-${tenant}` })),
    );
  });

  it('a confirmation that comes first is parked, then applied when the creation arrives', async () => {
    const orderId = randomUUID();
    await applyPeerEvent(db.postgres.pool, confirmed(orderId));
    const parked = await db.postgres.pool.query('SELECT 1 FROM standby_deferred WHERE order_id = $1', [orderId]);
    assert.equal(parked.rowCount, 1);
    await applyPeerEvent(db.postgres.pool, created(orderId));
    const { rows } = await db.postgres.pool.query('SELECT status, version FROM orders WHERE id = $1', [orderId]);
    assert.deepEqual(rows, [{ status: 'CONFIRMED', version: 2 }]);
  });
});
