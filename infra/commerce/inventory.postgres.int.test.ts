import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { inventoryContract } from '../../domains/commerce/inventory.contract.test.ts';
import { DomainError, isDomainError } from '../../domains/shared/errors.ts';
import { createPostgres, type Postgres } from '../adapters/postgres.ts';
import { closedPort, eventually } from '../adapters/testing.ts';
import { resolveEndpoints } from '../config/endpoints.ts';
import type { Envelope } from '../events/envelope.ts';
import { type EventRegistry, eventRegistry } from '../events/registry.ts';
import { migrate } from '../postgres/migrate.ts';
import { createPostgresInventory, type StockInventory } from './inventory.postgres.ts';
import { inventoryFixtures } from './inventory.testing.ts';
import { COMMERCE_MIGRATIONS } from './migrations.ts';
import { type ScratchDatabase, scratchDatabase } from './scratch-database.testing.ts';

const TENANT = 'test-tenant';
// Declared with its type: TypeScript only narrows through assertion methods of explicitly typed values.
const registry: EventRegistry = eventRegistry();

function rejectsWith(code: DomainError['code'], details?: Record<string, unknown>) {
  return (err: unknown) => {
    assert.ok(isDomainError(err), `expected a DomainError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (details) assert.deepEqual(err.details, details);
    return true;
  };
}

describe('postgres inventory (east)', () => {
  let postgres: Postgres;
  let inventory: StockInventory;
  const fx = inventoryFixtures(() => postgres.pool);

  before(async () => {
    const { postgresUrl } = resolveEndpoints('east', process.env);
    postgres = createPostgres({ url: postgresUrl, maxConnections: 20, applicationName: 'meridian-inventory-test' });
    // A fresh stack has an empty database: bring it up to date as a region would at start.
    await migrate(postgres.pool, [COMMERCE_MIGRATIONS]);
    inventory = createPostgresInventory(postgres.pool, { region: 'east' });
  });

  after(async () => {
    try {
      await fx.cleanup();
    } finally {
      await postgres.close();
    }
  });

  it('reserve decrements stock, records the lines and appends one valid inventory.reserved event', async () => {
    const [a, b] = [await fx.product(10), await fx.product(5)];
    const orderId = fx.order();
    // Duplicate lines of one product are merged by the domain before they reach the store.
    await inventory.reserve(orderId, TENANT, [
      { productId: b, quantity: 2 },
      { productId: a, quantity: 3 },
      { productId: b, quantity: 1 },
    ]);

    assert.equal(await fx.stockOf(a), 7);
    assert.equal(await fx.stockOf(b), 2);
    const rows = await fx.reservations(orderId);
    const inIdOrder = [a, b].sort();
    assert.deepEqual(
      rows.map((r) => [r.product_id, r.quantity, r.status]),
      inIdOrder.map((id) => [id, 3, 'RESERVED']),
    );

    const events = await fx.outbox(orderId);
    assert.equal(events.length, 1);
    const [event] = events as [Envelope];
    registry.assertValid(event);
    assert.equal(event.type, 'commerce.inventory.reserved.v1');
    assert.equal(event.source, '/regions/east/inventory');
    assert.equal(event.subject, orderId);
    assert.equal(event.tenant, TENANT);
    assert.deepEqual(event.data, { orderId, items: inIdOrder.map((productId) => ({ productId, quantity: 3 })) });
  });

  it('takes nothing when the second line is short (all or nothing)', async () => {
    const first = await fx.product(10);
    // Sorts after `first`, so `first` has already been decremented when the second line misses.
    const second = await fx.product(1, `${first}-z`);
    const orderId = fx.order();
    await assert.rejects(
      inventory.reserve(orderId, TENANT, [
        { productId: second, quantity: 2 },
        { productId: first, quantity: 4 },
      ]),
      rejectsWith('INSUFFICIENT_STOCK', { productId: second, available: 1, requested: 2 }),
    );
    assert.equal(await fx.stockOf(first), 10);
    assert.equal(await fx.stockOf(second), 1);
    assert.deepEqual(await fx.reservations(orderId), []);
    assert.deepEqual(await fx.outbox(orderId), []);
  });

  it('refuses an unknown product with PRODUCT_NOT_FOUND and changes nothing', async () => {
    const known = await fx.product(10);
    const unknown = `p-test-missing-${randomUUID().slice(0, 8)}`;
    const orderId = fx.order();
    await assert.rejects(
      inventory.reserve(orderId, TENANT, [
        { productId: known, quantity: 1 },
        { productId: unknown, quantity: 1 },
      ]),
      rejectsWith('PRODUCT_NOT_FOUND', { productId: unknown }),
    );
    assert.equal(await fx.stockOf(known), 10);
    assert.deepEqual(await fx.reservations(orderId), []);
    assert.deepEqual(await fx.outbox(orderId), []);
  });

  it('refuses bad input with BAD_USER_INPUT before touching the store', async () => {
    const id = await fx.product(10);
    await assert.rejects(
      inventory.reserve('not-a-uuid', TENANT, [{ productId: id, quantity: 1 }]),
      rejectsWith('BAD_USER_INPUT', { field: 'orderId' }),
    );
    await assert.rejects(
      inventory.reserve(fx.order(), TENANT, [{ productId: id, quantity: 101 }]),
      rejectsWith('BAD_USER_INPUT', { field: 'quantity' }),
    );
    await assert.rejects(inventory.reserve(fx.order(), TENANT, []), rejectsWith('BAD_USER_INPUT'));
    await assert.rejects(
      inventory.reserve(fx.order(), 'Not A Tenant', [{ productId: id, quantity: 1 }]),
      rejectsWith('BAD_USER_INPUT', { field: 'tenant' }),
    );
    assert.equal(await fx.stockOf(id), 10);
  });

  it('reserving the same order twice decrements once', async () => {
    const id = await fx.product(10);
    const orderId = fx.order();
    await inventory.reserve(orderId, TENANT, [{ productId: id, quantity: 4 }]);
    await inventory.reserve(orderId, TENANT, [{ productId: id, quantity: 4 }]);
    assert.equal(await fx.stockOf(id), 6);
    assert.equal((await fx.reservations(orderId)).length, 1);
    assert.equal((await fx.outbox(orderId)).length, 1);
  });

  it('concurrent reserves of one order still decrement once', async () => {
    const id = await fx.product(3);
    const orderId = fx.order();
    await Promise.all(
      Array.from({ length: 5 }, () => inventory.reserve(orderId, TENANT, [{ productId: id, quantity: 3 }])),
    );
    assert.equal(await fx.stockOf(id), 0);
    assert.equal((await fx.outbox(orderId)).length, 1);
  });

  it('release restores stock once; a second release is a no-op; one inventory.released event', async () => {
    const id = await fx.product(10);
    const orderId = fx.order();
    await inventory.reserve(orderId, TENANT, [{ productId: id, quantity: 4 }]);

    assert.equal(await inventory.releaseIfReserved(orderId, TENANT, 'payment declined'), true);
    assert.equal(await fx.stockOf(id), 10);
    await inventory.release(orderId, TENANT, 'payment declined');
    assert.equal(await inventory.releaseIfReserved(orderId, TENANT, 'again'), false);
    assert.equal(await fx.stockOf(id), 10);

    const [row] = await fx.reservations(orderId);
    assert.equal(row?.status, 'RELEASED');
    assert.equal(row?.release_reason, 'payment declined');
    const events = await fx.outbox(orderId);
    assert.deepEqual(
      events.map((e) => e.type),
      ['commerce.inventory.reserved.v1', 'commerce.inventory.released.v1'],
    );
    const released = events[1] as Envelope;
    registry.assertValid(released);
    assert.deepEqual(released.data, { orderId, items: [{ productId: id, quantity: 4 }] });

    // A released order is not reserved again by a late retry of its reserve.
    await inventory.reserve(orderId, TENANT, [{ productId: id, quantity: 4 }]);
    assert.equal(await fx.stockOf(id), 10);
  });

  it('release of an unknown order, or by another tenant, changes nothing', async () => {
    const id = await fx.product(10);
    const orderId = fx.order();
    assert.equal(await inventory.releaseIfReserved(fx.order(), TENANT, 'nothing there'), false);
    await inventory.reserve(orderId, TENANT, [{ productId: id, quantity: 2 }]);
    assert.equal(await inventory.releaseIfReserved(orderId, 'other-tenant', 'not mine'), false);
    assert.equal(await fx.stockOf(id), 8);
  });

  it('50 concurrent reserves of 1 unit with 10 in stock: exactly 10 succeed, stock ends at 0', async () => {
    const id = await fx.product(10);
    const orders = Array.from({ length: 50 }, () => fx.order());
    const results = await Promise.allSettled(
      orders.map((orderId) => inventory.reserve(orderId, TENANT, [{ productId: id, quantity: 1 }])),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    assert.equal(ok.length, 10);
    assert.equal(failed.length, 40);
    for (const err of failed) assert.ok(isDomainError(err, 'INSUFFICIENT_STOCK'), String(err));
    assert.equal(await fx.stockOf(id), 0);
    const held = await postgres.pool.query<{ n: number }>(
      `SELECT coalesce(sum(quantity), 0)::int AS n FROM inventory_reservations
       WHERE product_id = $1 AND status = 'RESERVED'`,
      [id],
    );
    assert.equal(held.rows[0]?.n, 10);
    const events = await postgres.pool.query('SELECT 1 FROM outbox WHERE aggregate_id = ANY($1::text[])', [orders]);
    assert.equal(events.rowCount, 10);
  });

  it('a reserve chosen as deadlock victim (40P01) is run again and succeeds once', async () => {
    /**
     * One attempt: another writer holds b, reserve holds a and waits on b, then the other asks for
     * a. PostgreSQL checks for a deadlock once per waiter, deadlock_timeout (1 s) after it began
     * waiting: reserve waited first, so its check normally finds the cycle and reserve is the
     * victim. Under load the other's request can come more than a second later; reserve's check
     * then finds no cycle and the other is the victim. That attempt proves nothing about the
     * retry (it must still leave one reservation), and the scenario runs again.
     */
    async function attempt(): Promise<boolean> {
      const [a, b] = [await fx.product(5), await fx.product(5)].sort() as [string, string];
      const orderId = fx.order();
      const other = await postgres.pool.connect();
      let reserveWasVictim = false;
      try {
        await other.query('BEGIN');
        await other.query('SELECT 1 FROM products WHERE id = $1 FOR UPDATE', [b]);
        const pid = (await other.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
        const reserving = inventory.reserve(orderId, TENANT, [
          { productId: a, quantity: 1 },
          { productId: b, quantity: 1 },
        ]);
        await eventually(
          async () => {
            const res = await postgres.pool.query(
              'SELECT 1 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))',
              [pid],
            );
            assert.equal(res.rowCount, 1);
          },
          { timeoutMs: 5000, intervalMs: 20 },
        );
        try {
          await other.query('SELECT 1 FROM products WHERE id = $1 FOR UPDATE', [a]);
          reserveWasVictim = true;
        } catch (err) {
          assert.equal((err as { code?: string }).code, '40P01', String(err));
        }
        await other.query('ROLLBACK');
        await reserving;
      } finally {
        await other.query('ROLLBACK').catch(() => {});
        other.release();
      }
      assert.equal(await fx.stockOf(a), 4);
      assert.equal(await fx.stockOf(b), 4);
      assert.equal((await fx.outbox(orderId)).length, 1);
      return reserveWasVictim;
    }
    let victimRuns = 0;
    for (let i = 0; i < 5 && victimRuns === 0; i++) if (await attempt()) victimRuns++;
    assert.equal(victimRuns, 1, 'in five attempts reserve was never the deadlock victim');
  });

  it('getStock answers known products and leaves unknown ones out', async () => {
    const id = await fx.product(42);
    const stock = await inventory.getStock([id, 'p-test-unknown-product']);
    assert.deepEqual([...stock], [[id, 42]]);
    assert.deepEqual([...(await inventory.getStock([]))], []);
  });
});

describe('postgres inventory: the Inventory contract (scratch database)', () => {
  let db: ScratchDatabase;
  let inventory: StockInventory;
  const fx = inventoryFixtures(() => db.postgres.pool);

  before(async () => {
    db = await scratchDatabase('inventory');
    inventory = createPostgresInventory(db.postgres.pool, { region: 'east' });
  });

  after(async () => {
    await db?.drop();
  });

  inventoryContract('postgres', async (stocks) => ({
    inventory,
    products: await fx.products(stocks),
    stockOf: fx.stockOf,
  }));
});

describe('postgres inventory with the store down', () => {
  it('answers DEPENDENCY_UNAVAILABLE, retryable, with the cause', async () => {
    const down = createPostgres({ url: `postgres://meridian:meridian@127.0.0.1:${await closedPort()}/meridian` });
    const inventory = createPostgresInventory(down.pool, { region: 'east' });
    try {
      await assert.rejects(
        inventory.reserve(randomUUID(), TENANT, [{ productId: 'p-keyboard', quantity: 1 }]),
        (err) => {
          assert.ok(err instanceof DomainError);
          assert.equal(err.code, 'DEPENDENCY_UNAVAILABLE');
          assert.equal(err.retryable, true);
          assert.match(String((err.cause as Error | undefined)?.message), /ECONNREFUSED/);
          return true;
        },
      );
      await assert.rejects(inventory.getStock(['p-keyboard']), rejectsWith('DEPENDENCY_UNAVAILABLE'));
    } finally {
      await down.close();
    }
  });
});
