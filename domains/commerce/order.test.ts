import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDomainError } from '../shared/errors.ts';
import { planReservation } from './inventory.ts';
import { type Order, transition } from './order.ts';

const pending: Order = {
  id: '00000000-0000-4000-8000-000000000001',
  tenant: 't1',
  userId: 'u1',
  status: 'PENDING',
  items: [{ productId: 'p-a', quantity: 1, unitPriceCents: 100 }],
  totalCents: 100,
  currency: 'USD',
  paymentToken: 'tok_x',
  cancelReason: null,
  version: 1,
  createdAt: 't0',
  updatedAt: 't0',
};

describe('order state machine', () => {
  it('PENDING → CONFIRMED bumps the version', () => {
    const o = transition(pending, { to: 'CONFIRMED' }, 't1');
    assert.deepEqual([o.status, o.version, o.updatedAt, o.cancelReason], ['CONFIRMED', 2, 't1', null]);
  });

  it('PENDING → CANCELLED keeps the reason', () => {
    const o = transition(pending, { to: 'CANCELLED', reason: 'card declined' }, 't1');
    assert.deepEqual([o.status, o.cancelReason], ['CANCELLED', 'card declined']);
  });

  it('terminal states never move', () => {
    const confirmed = transition(pending, { to: 'CONFIRMED' }, 't1');
    for (const to of ['CONFIRMED', 'CANCELLED'] as const) {
      assert.throws(
        () => transition(confirmed, to === 'CANCELLED' ? { to, reason: 'x' } : { to }, 't2'),
        (err: unknown) => isDomainError(err, 'INVALID_TRANSITION'),
      );
    }
  });
});

describe('inventory planning', () => {
  it('takes all lines or none and never goes below zero', () => {
    const stock = new Map([
      ['p-a', 5],
      ['p-b', 1],
    ]);
    assert.deepEqual(
      [
        ...planReservation(stock, [
          { productId: 'p-a', quantity: 5 },
          { productId: 'p-b', quantity: 1 },
        ]),
      ],
      [
        ['p-a', 0],
        ['p-b', 0],
      ],
    );
    assert.throws(
      () =>
        planReservation(stock, [
          { productId: 'p-a', quantity: 1 },
          { productId: 'p-b', quantity: 2 },
        ]),
      (err: unknown) => isDomainError(err, 'INSUFFICIENT_STOCK') && err.details.productId === 'p-b',
    );
    assert.equal(stock.get('p-a'), 5, 'input levels untouched');
    assert.throws(
      () => planReservation(stock, [{ productId: 'p-z', quantity: 1 }]),
      (err: unknown) => isDomainError(err, 'PRODUCT_NOT_FOUND'),
    );
  });

  it('merges duplicate lines before checking', () => {
    const stock = new Map([['p-a', 3]]);
    assert.throws(
      () =>
        planReservation(stock, [
          { productId: 'p-a', quantity: 2 },
          { productId: 'p-a', quantity: 2 },
        ]),
      (err: unknown) => isDomainError(err, 'INSUFFICIENT_STOCK'),
    );
  });
});
