import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tierOf } from './tiers.ts';

describe('test tiers', () => {
  it('reads the tier from the file name', () => {
    assert.equal(tierOf('domains/commerce/order.test.ts'), 'unit');
    assert.equal(tierOf('infra/adapters/kafka.int.test.ts'), 'integration');
    assert.equal(tierOf('e2e/commerce.int.test.ts'), 'integration');
    assert.equal(tierOf('e2e/stack.lifecycle.test.ts'), 'lifecycle');
    assert.equal(tierOf('edge/ratelimit/store.contract.test.ts'), 'unit', 'a contract suite is run by its adapters');
  });
});
