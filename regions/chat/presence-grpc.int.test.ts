/** The presence gRPC service on a real gRPC server over the region's real Redis: the Presence contract through the wire. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { presenceContract } from '../../domains/chat/presence.contract.test.ts';
import { rejectsWith } from '../../domains/shared/testing.ts';
import { createRedis, type RedisDependency } from '../../infra/adapters/redis.ts';
import { createGrpcPresence } from '../../infra/chat/presence.grpc.ts';
import { createRedisPresence } from '../../infra/chat/presence.redis.ts';
import { resolveEndpoints } from '../../infra/config/endpoints.ts';
import { startGrpcServer } from '../host/grpc-server.ts';
import { presenceGrpcService } from './presence-grpc.ts';

let redis: RedisDependency;
let server: Awaited<ReturnType<typeof startGrpcServer>>;
let grpc: ReturnType<typeof createGrpcPresence>;

before(async () => {
  redis = createRedis({ url: resolveEndpoints('east', process.env).redisUrl });
  server = await startGrpcServer({ port: 0, services: [presenceGrpcService(createRedisPresence(redis.client))] });
  grpc = createGrpcPresence({ address: `127.0.0.1:${server.port}` });
});
after(async () => {
  grpc?.close();
  await server?.stop();
  await redis?.close();
});

presenceContract('grpc → redis', () => grpc);

describe('presence gRPC service', () => {
  it('refuses bad requests with INVALID_ARGUMENT (BAD_USER_INPUT) before the store', async () => {
    const room = crypto.randomUUID();
    await assert.rejects(grpc.heartbeat('BAD TENANT', room, 'u1', 5000), rejectsWith('BAD_USER_INPUT'));
    await assert.rejects(grpc.heartbeat('t1', 'not-a-room', 'u1', 5000), rejectsWith('BAD_USER_INPUT'));
    await assert.rejects(grpc.heartbeat('t1', room, 'u1', 10), rejectsWith('BAD_USER_INPUT'));
    await assert.rejects(grpc.online('t1', room, 0), rejectsWith('BAD_USER_INPUT'));
    assert.deepEqual(await grpc.online('t1', room, 10), []);
  });

  it('an unreachable service is DEPENDENCY_UNAVAILABLE (retryable)', async () => {
    const down = createGrpcPresence({ address: '127.0.0.1:1', deadlineMs: 300 });
    try {
      await assert.rejects(down.online('t1', crypto.randomUUID(), 10), (err: unknown) => {
        rejectsWith('DEPENDENCY_UNAVAILABLE')(err);
        return (err as { retryable: boolean }).retryable === true;
      });
    } finally {
      down.close();
    }
  });
});
