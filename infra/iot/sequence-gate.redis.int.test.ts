/** The SequenceGate contract against the real east Redis, under a key prefix of this run. */
import { after } from 'node:test';
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
