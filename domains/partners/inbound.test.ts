import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rejectsWith } from '../shared/testing.ts';
import { inboundEvent } from './inbound.ts';
import type { LegacyPartner } from './legacy-partner.ts';
import { orderStatus, updateStock } from './operations.ts';

const partner: LegacyPartner = {
  id: `lp_${'1'.repeat(32)}`,
  tenant: 't1',
  name: 'Acme',
  status: 'ACTIVE',
  ratePerSecond: 10,
  maxQueued: 100,
  inboundEventTypes: ['partners.shipment.updated.v1'],
  passwordHash: 'h',
  createdAt: '2030-01-01T00:00:00Z',
  updatedAt: '2030-01-01T00:00:00Z',
};
const body = JSON.stringify({ type: 'partners.shipment.updated.v1', subject: 'sh-1', data: { shipmentId: 'sh-1' } });

describe('inbound AMQP messages', () => {
  it('become an event of the partner’s tenant, stamped with the partner, keyed by its message id', () => {
    const { event, key } = inboundEvent(partner, { routingKey: `${partner.id}.shipments`, body, messageId: 'm-1' });
    assert.equal(key, `${partner.id}/m-1`);
    assert.deepEqual(event, {
      type: 'partners.shipment.updated.v1',
      subject: 'sh-1',
      tenant: 't1',
      data: { shipmentId: 'sh-1', partnerId: partner.id },
    });
    const spoofed = JSON.stringify({ type: 'partners.shipment.updated.v1', data: { partnerId: 'someone-else' } });
    const e2 = inboundEvent(partner, { routingKey: `${partner.id}.x`, body: spoofed, messageId: 'm-2' }).event;
    assert.equal((e2.data as { partnerId: string }).partnerId, partner.id, 'the account says who sent it');
    assert.equal(e2.subject, partner.id);
  });

  it('refuses with a reason: foreign routing key or user-id, no message id, not JSON, a type not allowed', () => {
    const m = { routingKey: `${partner.id}.x`, body, messageId: 'm-1' };
    const cases: Array<[Parameters<typeof inboundEvent>[1], RegExp]> = [
      [{ ...m, routingKey: 'lp_other.x' }, /routing key/],
      [{ ...m, userId: 'someone' }, /user-id/],
      [{ ...m, messageId: undefined }, /message-id/],
      [{ ...m, body: '{nope' }, /not JSON/],
      [{ ...m, body: JSON.stringify({ type: 'partners.stock.reported.v1', data: {} }) }, /may send/],
      [{ ...m, body: JSON.stringify({ type: 'partners.shipment.updated.v1', data: [] }) }, /data must be/],
    ];
    for (const [message, reason] of cases) {
      assert.throws(
        () => inboundEvent(partner, message),
        (err: Error) => rejectsWith('BAD_USER_INPUT')(err) && reason.test(err.message),
      );
    }
  });
});

describe('partner operations (SOAP)', () => {
  it('a stock update goes to commerce keyed by partner and update id, in the partner’s tenant', async () => {
    const calls: unknown[] = [];
    const stock = {
      adjust: async (r: unknown) => {
        calls.push(r);
        return { productId: 'p-mouse', available: 12, applied: true };
      },
    };
    const result = await updateStock({ stock }, partner, { updateId: 'u-1', productId: 'p-mouse', quantityDelta: 2 });
    assert.deepEqual(result, { productId: 'p-mouse', available: 12, applied: true });
    assert.deepEqual(calls, [
      {
        adjustmentId: `${partner.id}:u-1`,
        tenant: 't1',
        productId: 'p-mouse',
        delta: 2,
        reason: 'stock update from partner Acme',
      },
    ]);
    await assert.rejects(
      updateStock({ stock }, partner, { updateId: 'has space', productId: 'p-mouse', quantityDelta: 2 }),
      rejectsWith('BAD_USER_INPUT', { field: 'updateId' }),
    );
    assert.equal(calls.length, 1);
  });

  it('an order of another tenant is not found, like a missing one', async () => {
    const id = '0b5e6a1e-8d2c-4f6a-9a51-3c1f2d4e5a6b';
    const orders = {
      orderStatus: async (orderId: string) => ({ orderId, tenant: 't2', status: 'CONFIRMED', updatedAt: 'x' }),
    };
    await assert.rejects(orderStatus({ orders }, partner, id), rejectsWith('ORDER_NOT_FOUND', { orderId: id }));
    const mine = {
      orderStatus: async (orderId: string) => ({ orderId, tenant: 't1', status: 'CONFIRMED', updatedAt: 'x' }),
    };
    assert.equal((await orderStatus({ orders: mine }, partner, id)).status, 'CONFIRMED');
    await assert.rejects(orderStatus({ orders: mine }, partner, 'nope'), rejectsWith('BAD_USER_INPUT'));
  });
});
