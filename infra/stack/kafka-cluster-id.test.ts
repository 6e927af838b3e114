import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kafkaClusterId } from './services.ts';

describe('kafkaClusterId', () => {
  it('is 22 base64url characters', () => {
    assert.match(kafkaClusterId(), /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });

  it('redraws an id that would start with "-" (kafka-storage reads it as an option)', () => {
    // 0xf8 encodes to '-' as the first base64url character.
    const draws = [Buffer.alloc(16, 0xf8), Buffer.alloc(16, 0x01)];
    const id = kafkaClusterId(() => draws.shift() ?? Buffer.alloc(16));
    assert.equal(draws.length, 0, 'the first draw was refused');
    assert.equal(id, Buffer.alloc(16, 0x01).toString('base64url'));
  });
});
