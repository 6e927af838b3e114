/** The SequenceGate contract against the real east Redis, under a key prefix of this run. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { sequenceGateContract } from '../../domains/iot/sequence-gate.contract.test.ts';
import { createRedis } from '../adapters/redis.ts';
import { uniqueName } from '../adapters/testing.ts';
import { resolveEndpoints } from '../config/endpoints.ts';
import { createRedisSequenceGate } from './sequence-gate.redis.ts';

const redis = createRedis({ url: resolveEndpoints('east', process.env).redisUrl });
const prefix = `${uniqueName('iot-gate-test')}:`;

after(async () => {
  const keys = await redis.client.keys(`${prefix}*`);
  if (keys.length) await redis.client.del(...keys);
  await redis.close();
});

sequenceGateContract('redis', (now) => createRedisSequenceGate(redis.client, { prefix, now }));

describe('the Redis gate on state written before its `skips` and `touched` fields', () => {
  it('looks at the skipped set of such a state, and settles it into the current layout', async () => {
    const gate = createRedisSequenceGate(redis.client, { prefix });
    const key = 'old.dev-1';
    const base = `${prefix}${key}`;
    // As the gate of 2 Dec wrote it: 3 skipped, 4 and 5 settled, long ago.
    await redis.client.hset(base, { last: 5, holes: 0, first: 1, fresh: 0 });
    await redis.client.sadd(`${base}:s`, 3);
    assert.deepEqual(await gate.decide([{ key, seq: 3, hash: 'h3', redelivered: false }]), ['late']);
    await gate.settle([{ key, seq: 3, hash: 'h3' }]);
    assert.equal(await redis.client.hget(base, 'skips'), '0', 'its skipped set is empty now, and says so');
    assert.ok((await redis.client.pttl(base)) > 0, 'it expires');
    assert.deepEqual(await gate.decide([{ key, seq: 6, hash: 'h6', redelivered: false }]), ['go']);
  });
});
