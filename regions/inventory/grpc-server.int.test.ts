import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { inventoryContract } from '../../domains/commerce/inventory.contract.test.ts';
import { isDomainError } from '../../domains/shared/errors.ts';
import { rejectsWith } from '../../domains/shared/testing.ts';
import { createPostgres, type Postgres } from '../../infra/adapters/postgres.ts';
import { closedPort } from '../../infra/adapters/testing.ts';
import {
  createGrpcInventory,
  ERROR_METADATA,
  type GrpcInventory,
  loadInventoryService,
  type ReserveRequestMessage,
} from '../../infra/commerce/inventory.grpc.ts';
import { createPostgresInventory, type StockInventory } from '../../infra/commerce/inventory.postgres.ts';
import { inventoryFixtures as fixtures } from '../../infra/commerce/inventory.testing.ts';
import { COMMERCE_MIGRATIONS } from '../../infra/commerce/migrations.ts';
import { type ScratchDatabase, scratchDatabase } from '../../infra/commerce/scratch-database.testing.ts';
import { resolveEndpoints } from '../../infra/config/endpoints.ts';
import { migrate } from '../../infra/postgres/migrate.ts';
import { withTelemetry } from '../../infra/telemetry/context.ts';
import { traceIdOf } from '../../infra/telemetry/traceparent.ts';
import { type RunningInventoryGrpcServer, startInventoryGrpcServer } from './grpc-server.ts';

const TENANT = 'test-tenant';

/** The inventory, each call held back `ms` first: a server slower than its clients' deadline. */
function slowed(inner: StockInventory, ms: number): StockInventory {
  return {
    reserve: async (...args) => sleep(ms).then(() => inner.reserve(...args)),
    release: async (...args) => sleep(ms).then(() => inner.release(...args)),
    releaseIfReserved: async (...args) => sleep(ms).then(() => inner.releaseIfReserved(...args)),
    getStock: async (...args) => sleep(ms).then(() => inner.getStock(...args)),
    adjustStock: async (...args) => sleep(ms).then(() => inner.adjustStock(...args)),
  };
}

/** A raw call, to see the gRPC status and trailers the adapter turns into DomainErrors. */
function rawReserve(port: number, request: ReserveRequestMessage): Promise<grpc.ServiceError> {
  const { Client } = loadInventoryService();
  const stub = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    stub.Reserve(request, new grpc.Metadata(), { deadline: Date.now() + 2000 }, (err) => {
      stub.close();
      if (err) resolve(err);
      else reject(new Error('expected the call to fail'));
    });
  });
}

describe('inventory gRPC service over loopback (east Postgres)', () => {
  let postgres: Postgres;
  let inventory: StockInventory;
  let server: RunningInventoryGrpcServer;
  let client: GrpcInventory;
  const fx = fixtures(() => postgres.pool);

  before(async () => {
    const { postgresUrl } = resolveEndpoints('east', process.env);
    postgres = createPostgres({ url: postgresUrl, applicationName: 'meridian-inventory-grpc-test' });
    await migrate(postgres.pool, [COMMERCE_MIGRATIONS]);
    inventory = createPostgresInventory(postgres.pool, { region: 'east' });
    server = await startInventoryGrpcServer({ port: 0, inventory });
    // These cases check the protocol, not the deadline (the slow server's case does): on a freshly
    // started, busy stack the first call (channel, cold PostgreSQL) has taken over the 2 s default.
    client = createGrpcInventory({ address: `127.0.0.1:${server.port}`, deadlineMs: 10_000 });
  });

  after(async () => {
    try {
      client?.close();
      await server?.stop();
      await fx.cleanup();
    } finally {
      await postgres.close();
    }
  });

  it('listens on the port it was given (0: a free one)', () => {
    assert.ok(server.port > 0);
  });

  it('reserve, getStock and release round-trip', async () => {
    const id = await fx.product(5);
    const orderId = fx.order();
    await client.reserve(orderId, TENANT, [{ productId: id, quantity: 2 }]);
    assert.deepEqual([...(await client.getStock([id, 'p-test-not-there']))], [[id, 3]]);

    assert.equal(await client.releaseIfReserved(orderId, TENANT, 'cancelled by user'), true);
    assert.equal(await client.releaseIfReserved(orderId, TENANT, 'cancelled by user'), false);
    await client.release(orderId, TENANT, 'cancelled by user');
    assert.deepEqual([...(await client.getStock([id]))], [[id, 5]]);
    assert.deepEqual(
      (await fx.outbox(orderId)).map((e) => e.type),
      ['commerce.inventory.reserved.v1', 'commerce.inventory.released.v1'],
    );
  });

  it('INSUFFICIENT_STOCK comes back as the same DomainError with its details', async () => {
    const id = await fx.product(5);
    await assert.rejects(
      client.reserve(fx.order(), TENANT, [{ productId: id, quantity: 6 }]),
      rejectsWith('INSUFFICIENT_STOCK', { productId: id, available: 5, requested: 6 }),
    );
    const raw = await rawReserve(server.port, {
      orderId: fx.order(),
      tenant: TENANT,
      lines: [{ productId: id, quantity: 6 }],
    });
    assert.equal(raw.code, grpc.status.FAILED_PRECONDITION);
    assert.deepEqual(raw.metadata.get(ERROR_METADATA.code), ['INSUFFICIENT_STOCK']);
    assert.deepEqual((await client.getStock([id])).get(id), 5);
  });

  it('PRODUCT_NOT_FOUND comes back as the same DomainError with its details', async () => {
    const missing = `p-test-missing-${randomUUID().slice(0, 8)}`;
    await assert.rejects(
      client.reserve(fx.order(), TENANT, [{ productId: missing, quantity: 1 }]),
      rejectsWith('PRODUCT_NOT_FOUND', { productId: missing }),
    );
    const raw = await rawReserve(server.port, {
      orderId: fx.order(),
      tenant: TENANT,
      lines: [{ productId: missing, quantity: 1 }],
    });
    assert.equal(raw.code, grpc.status.NOT_FOUND);
  });

  it('invalid requests are INVALID_ARGUMENT and come back as BAD_USER_INPUT naming the field', async () => {
    const id = await fx.product(5);
    const line = [{ productId: id, quantity: 1 }];
    await assert.rejects(
      client.reserve('not-a-uuid', TENANT, line),
      rejectsWith('BAD_USER_INPUT', { field: 'orderId' }),
    );
    await assert.rejects(client.reserve(fx.order(), '', line), rejectsWith('BAD_USER_INPUT', { field: 'tenant' }));
    await assert.rejects(client.reserve(fx.order(), TENANT, []), rejectsWith('BAD_USER_INPUT', { field: 'lines' }));
    const tooMany = Array.from({ length: 51 }, () => ({ productId: id, quantity: 1 }));
    await assert.rejects(
      client.reserve(fx.order(), TENANT, tooMany),
      rejectsWith('BAD_USER_INPUT', { field: 'lines' }),
    );
    for (const quantity of [0, 101, -1]) {
      await assert.rejects(
        client.reserve(fx.order(), TENANT, [{ productId: id, quantity }]),
        rejectsWith('BAD_USER_INPUT', { field: 'quantity' }),
      );
    }
    await assert.rejects(
      client.reserve(fx.order(), TENANT, [{ productId: id, quantity: 1.5 }]),
      rejectsWith('BAD_USER_INPUT'),
    );
    await assert.rejects(client.release(fx.order(), TENANT, ''), rejectsWith('BAD_USER_INPUT', { field: 'reason' }));
    await assert.rejects(client.getStock(['NOT A PRODUCT']), rejectsWith('BAD_USER_INPUT', { field: 'productIds' }));

    const raw = await rawReserve(server.port, { orderId: 'nope', tenant: TENANT, lines: line });
    assert.equal(raw.code, grpc.status.INVALID_ARGUMENT);
    assert.deepEqual(raw.metadata.get(ERROR_METADATA.code), ['BAD_USER_INPUT']);
    assert.deepEqual(raw.metadata.get(ERROR_METADATA.details), [JSON.stringify({ field: 'orderId' })]);
    assert.equal((await client.getStock([id])).get(id), 5);
  });

  it('adjustStock applies once per adjustment id, never below zero, with one inventory.adjusted event', async () => {
    const id = await fx.product(5);
    const adjustmentId = `test:${randomUUID()}`;
    const request = { adjustmentId, tenant: TENANT, productId: id, delta: 7, reason: 'goods received' };
    assert.deepEqual(await client.adjustStock(request), { productId: id, available: 12, applied: true });
    assert.deepEqual(await client.adjustStock(request), { productId: id, available: 12, applied: false });
    const events = await fx.outbox(id);
    assert.deepEqual(
      events.map((e) => [e.type, e.subject, e.tenant, e.data]),
      [
        [
          'commerce.inventory.adjusted.v1',
          id,
          TENANT,
          { adjustmentId, productId: id, delta: 7, available: 12, reason: 'goods received' },
        ],
      ],
    );
    await assert.rejects(
      client.adjustStock({ ...request, adjustmentId: `test:${randomUUID()}`, delta: -13 }),
      rejectsWith('INSUFFICIENT_STOCK', { productId: id, available: 12, requested: 13 }),
    );
    await assert.rejects(
      client.adjustStock({ ...request, adjustmentId: `test:${randomUUID()}`, productId: 'p-test-not-there' }),
      rejectsWith('PRODUCT_NOT_FOUND', { productId: 'p-test-not-there' }),
    );
    for (const [field, change] of [
      ['delta', { delta: 0 }],
      ['delta', { delta: 100_001 }],
      ['adjustmentId', { adjustmentId: 'has space' }],
      ['reason', { reason: '' }],
      ['tenant', { tenant: 'UPPER' }],
    ] as const) {
      await assert.rejects(
        client.adjustStock({ ...request, adjustmentId: `test:${randomUUID()}`, ...change }),
        rejectsWith('BAD_USER_INPUT', { field }),
      );
    }
    assert.equal((await client.getStock([id])).get(id), 12);
    assert.equal((await fx.outbox(id)).length, 1, 'refused adjustments wrote no event');
  });

  it('concurrent repeats of one adjustment apply it once', async () => {
    const id = await fx.product(0);
    const request = { adjustmentId: `test:${randomUUID()}`, tenant: TENANT, productId: id, delta: 3, reason: 'count' };
    const results = await Promise.all(Array.from({ length: 8 }, () => client.adjustStock(request)));
    assert.equal(results.filter((r) => r.applied).length, 1);
    assert.ok(results.every((r) => r.available === 3));
    assert.equal((await client.getStock([id])).get(id), 3);
  });

  it('the traceparent of the caller reaches the outbox envelope', async () => {
    const id = await fx.product(5);
    const orderId = fx.order();
    const traceId = randomUUID().replaceAll('-', '');
    const traceparent = `00-${traceId}-${'ab'.repeat(8)}-01`;
    await withTelemetry({ traceparent }, () => client.reserve(orderId, TENANT, [{ productId: id, quantity: 1 }]));
    const [event] = await fx.outbox(orderId);
    assert.equal(traceIdOf(event?.traceparent), traceId);
    // A child span, not the caller's own.
    assert.notEqual(event?.traceparent, traceparent);
  });
});

describe('inventory gRPC client → in-process server → Postgres: the Inventory contract (scratch database)', () => {
  let db: ScratchDatabase;
  let server: RunningInventoryGrpcServer;
  let client: GrpcInventory;
  const fx = fixtures(() => db.postgres.pool);

  before(async () => {
    db = await scratchDatabase('inventory_grpc');
    server = await startInventoryGrpcServer({
      port: 0,
      inventory: createPostgresInventory(db.postgres.pool, { region: 'east' }),
    });
    client = createGrpcInventory({ address: `127.0.0.1:${server.port}` });
  });

  after(async () => {
    try {
      client?.close();
      await server?.stop();
    } finally {
      await db?.drop();
    }
  });

  inventoryContract('grpc', async (stocks) => ({
    inventory: client,
    products: await fx.products(stocks),
    stockOf: fx.stockOf,
  }));
});

describe('inventory gRPC client when the service is slow or gone', () => {
  let postgres: Postgres;
  let inventory: StockInventory;

  before(async () => {
    const { postgresUrl } = resolveEndpoints('east', process.env);
    postgres = createPostgres({ url: postgresUrl, applicationName: 'meridian-inventory-grpc-test' });
    await migrate(postgres.pool, [COMMERCE_MIGRATIONS]);
    inventory = createPostgresInventory(postgres.pool, { region: 'east' });
  });

  after(async () => {
    await postgres.close();
  });

  it('a server slower than the deadline is DEPENDENCY_UNAVAILABLE, retryable', async () => {
    const slow = await startInventoryGrpcServer({ port: 0, inventory: slowed(inventory, 500) });
    const client = createGrpcInventory({ address: `127.0.0.1:${slow.port}`, deadlineMs: 100 });
    try {
      const started = performance.now();
      await assert.rejects(client.getStock(['p-keyboard']), (err) => {
        assert.ok(isDomainError(err, 'DEPENDENCY_UNAVAILABLE'), String(err));
        assert.equal(err.retryable, true);
        assert.equal((err.cause as grpc.ServiceError).code, grpc.status.DEADLINE_EXCEEDED);
        return true;
      });
      assert.ok(performance.now() - started < 450, 'the client gave up at its deadline, not when the server answered');
    } finally {
      client.close();
      await slow.stop();
    }
  });

  it('a stopped server is DEPENDENCY_UNAVAILABLE, retryable', async () => {
    const doomed = await startInventoryGrpcServer({ port: 0, inventory });
    const client = createGrpcInventory({ address: `127.0.0.1:${doomed.port}` });
    try {
      assert.ok((await client.getStock(['p-keyboard'])).has('p-keyboard'));
      await doomed.stop();
      await assert.rejects(client.getStock(['p-keyboard']), (err) => {
        assert.ok(isDomainError(err, 'DEPENDENCY_UNAVAILABLE'), String(err));
        assert.equal(err.retryable, true);
        return true;
      });
    } finally {
      client.close();
    }
  });

  it('nothing listening at the address is DEPENDENCY_UNAVAILABLE, retryable', async () => {
    const client = createGrpcInventory({ address: `127.0.0.1:${await closedPort()}` });
    try {
      await assert.rejects(client.release(randomUUID(), TENANT, 'x'), rejectsWith('DEPENDENCY_UNAVAILABLE'));
    } finally {
      client.close();
    }
  });
});
