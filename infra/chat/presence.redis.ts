/**
 * Presence in the region's Redis: one sorted set per room, `chat:presence:{<tenant>:<roomId>}`,
 * members the user ids, scores when their presence expires (ms since the epoch). A heartbeat
 * sets the user's score and extends the whole key's TTL, so a room nobody beats for goes away
 * by itself; reads drop expired members first. Per region on purpose: never replicated.
 */
import type { Redis } from 'ioredis';
import type { Presence } from '../../domains/chat/ports.ts';
import { DomainError } from '../../domains/shared/errors.ts';

/** The key of one room's presence (the braces keep a room on one Redis Cluster slot). */
export function presenceKey(tenant: string, roomId: string): string {
  return `chat:presence:{${tenant}:${roomId}}`;
}

function unavailable(err: unknown): DomainError {
  return new DomainError('DEPENDENCY_UNAVAILABLE', `presence store unavailable: ${(err as Error)?.message ?? err}`, {
    retryable: true,
    cause: err,
  });
}

/** The Presence port on Redis; `clock` is ms since the epoch. */
export function createRedisPresence(redis: Redis, clock: () => number = Date.now): Presence {
  return {
    async heartbeat(tenant, roomId, userId, ttlMs) {
      const key = presenceKey(tenant, roomId);
      try {
        await redis
          .multi()
          .zadd(key, clock() + ttlMs, userId)
          .pexpire(key, ttlMs)
          .exec();
      } catch (err) {
        throw unavailable(err);
      }
    },
    async leave(tenant, roomId, userId) {
      try {
        await redis.zrem(presenceKey(tenant, roomId), userId);
      } catch (err) {
        throw unavailable(err);
      }
    },
    async online(tenant, roomId, limit) {
      const key = presenceKey(tenant, roomId);
      const now = clock();
      try {
        const result = await redis
          .multi()
          .zremrangebyscore(key, '-inf', now)
          .zrangebyscore(key, `(${now}`, '+inf')
          .exec();
        const users = (result?.[1]?.[1] as string[] | undefined) ?? [];
        return users.sort().slice(0, limit);
      } catch (err) {
        throw unavailable(err);
      }
    },
  };
}
