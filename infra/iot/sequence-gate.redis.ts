/**
 * The bridges' ordering gate (domains/iot/sequence.ts has the rules) in the region's Redis: one
 * small state per device, decided and settled by Lua scripts, so every bridge process of the
 * region sees one atomic view. Per device: a hash `<prefix><mqttId>` (last, holes, first), its
 * recent payload hashes `…:h` and its skipped numbers `…:s`, all expiring a week after the
 * device's last message. A batch is one script call.
 */
import type { Redis } from 'ioredis';
import type { SequenceGate } from '../../domains/iot/ports.ts';
import {
  FIRST_SIGHT_GRACE_MS,
  FIRST_SIGHT_WAIT_MS,
  HASH_WINDOW,
  MAX_SKIPPED,
  type SequenceDecision,
} from '../../domains/iot/sequence.ts';
import { DomainError } from '../../domains/shared/errors.ts';

const TTL_MS = 7 * 24 * 3600 * 1000;

// KEYS: per item base, hashes, skipped. ARGV: now, grace, ttl, max skipped, first-sight wait, then per item
// seq, hash, redelivered.
const DECIDE = `
local now, grace, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local maxSkipped, firstWait = tonumber(ARGV[4]), tonumber(ARGV[5])
local out, tentative, gone = {}, {}, {}
local function jump(base, sk, from, seq, stored)
  if seq - from - 1 <= maxSkipped and seq - from - 1 > 0 then
    for n = from + 1, seq - 1 do redis.call('SADD', sk, n) end
    redis.call('PEXPIRE', sk, ttl)
  end
  if seq - 1 > stored then redis.call('HSET', base, 'last', seq - 1) end
  redis.call('HSET', base, 'fresh', 0)
end
for i = 1, #KEYS / 3 do
  local base, hk, sk = KEYS[3*i-2], KEYS[3*i-1], KEYS[3*i]
  local seq, h, redelivered = tonumber(ARGV[3*i+3]), ARGV[3*i+4], ARGV[3*i+5] == '1'
  local stored = redis.call('HGET', base, 'last')
  if not stored then
    redis.call('HSET', base, 'last', -1, 'holes', 0, 'first', now, 'fresh', 1)
    redis.call('PEXPIRE', base, ttl)
    stored = -1
  else
    stored = tonumber(stored)
  end
  local last = tentative[base] or stored
  local decision
  if seq == last + 1 then
    decision = 'go'
  elseif seq > last + 1 then
    local gap = seq - last - 1
    local holes = tonumber(redis.call('HGET', base, 'holes') or '0')
    local fresh = redis.call('HGET', base, 'fresh') == '1'
    local first = tonumber(redis.call('HGET', base, 'first') or '0')
    if holes >= gap then
      redis.call('HINCRBY', base, 'holes', -gap)
      jump(base, sk, last, seq, stored)
      decision = 'go'
    elseif fresh and now - first >= firstWait then
      jump(base, sk, last, seq, stored)
      decision = 'go'
    else
      decision = 'wait'
    end
  elseif redis.call('SISMEMBER', sk, seq) == 1 then
    decision = 'late'
  elseif redelivered then
    decision = 'duplicate'
  else
    local known = gone[base .. ' ' .. seq] or redis.call('HGET', hk, seq)
    local first = tonumber(redis.call('HGET', base, 'first') or '0')
    if known == h then
      decision = 'duplicate'
    elseif (not known) and now - first < grace then
      decision = 'late'
    else
      decision = 'backwards'
    end
  end
  if decision == 'go' then
    tentative[base] = seq
    gone[base .. ' ' .. seq] = h
  end
  out[i] = decision
end
return out
`;

// KEYS: per item base, hashes, skipped. ARGV: window, ttl, then per item seq, hash.
const SETTLE = `
local window, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
for i = 1, #KEYS / 3 do
  local base, hk, sk = KEYS[3*i-2], KEYS[3*i-1], KEYS[3*i]
  local seq, h = tonumber(ARGV[2*i+1]), ARGV[2*i+2]
  local last = tonumber(redis.call('HGET', base, 'last') or '-1')
  if seq > last then redis.call('HSET', base, 'last', seq) end
  redis.call('HSET', base, 'fresh', 0)
  redis.call('SREM', sk, seq)
  redis.call('HSET', hk, seq, h)
  redis.call('HDEL', hk, seq - window)
  redis.call('PEXPIRE', base, ttl)
  redis.call('PEXPIRE', hk, ttl)
  if redis.call('EXISTS', sk) == 1 then redis.call('PEXPIRE', sk, ttl) end
end
return 1
`;

// KEYS: base, skipped. ARGV: seq, max skipped, ttl.
const SKIP_TO = `
local seq, max, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local stored = redis.call('HGET', KEYS[1], 'last')
if not stored then return 0 end
local last = tonumber(stored)
if seq - 1 <= last then return 0 end
if seq - 1 - last <= max then
  for n = last + 1, seq - 1 do redis.call('SADD', KEYS[2], n) end
  redis.call('PEXPIRE', KEYS[2], ttl)
end
redis.call('HSET', KEYS[1], 'last', seq - 1, 'fresh', 0)
return 1
`;

const HOLE = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HINCRBY', KEYS[1], 'holes', 1) end
return 1
`;

type Scripted = Redis & {
  iotGateDecide(...args: Array<string | number>): Promise<SequenceDecision[]>;
  iotGateSettle(...args: Array<string | number>): Promise<number>;
  iotGateSkipTo(...args: Array<string | number>): Promise<number>;
  iotGateHole(...args: Array<string | number>): Promise<number>;
};

export interface RedisSequenceGateOptions {
  /** Key prefix (tests use their own); default `iot:gate:`. */
  readonly prefix?: string;
  readonly now?: () => number;
}

function unavailable(err: unknown): DomainError {
  return new DomainError('DEPENDENCY_UNAVAILABLE', `sequence gate (redis): ${(err as Error)?.message ?? err}`, {
    retryable: true,
    cause: err,
  });
}

/** The gate on one region's Redis. */
export function createRedisSequenceGate(redis: Redis, opts: RedisSequenceGateOptions = {}): SequenceGate {
  const prefix = opts.prefix ?? 'iot:gate:';
  const now = opts.now ?? Date.now;
  const client = redis as Scripted;
  if (typeof client.iotGateDecide !== 'function') {
    redis.defineCommand('iotGateDecide', { lua: DECIDE });
    redis.defineCommand('iotGateSettle', { lua: SETTLE });
    redis.defineCommand('iotGateSkipTo', { lua: SKIP_TO, numberOfKeys: 2 });
    redis.defineCommand('iotGateHole', { lua: HOLE, numberOfKeys: 1 });
  }
  const keys = (key: string) => [`${prefix}${key}`, `${prefix}${key}:h`, `${prefix}${key}:s`];
  const connect = async () => {
    if (redis.status === 'wait') await redis.connect();
  };
  return {
    async decide(items) {
      if (items.length === 0) return [];
      const args = [
        items.length * 3,
        ...items.flatMap((i) => keys(i.key)),
        now(),
        FIRST_SIGHT_GRACE_MS,
        TTL_MS,
        MAX_SKIPPED,
        FIRST_SIGHT_WAIT_MS,
        ...items.flatMap((i) => [i.seq, i.hash, i.redelivered ? '1' : '0']),
      ];
      try {
        await connect();
        return await client.iotGateDecide(...args);
      } catch (err) {
        throw unavailable(err);
      }
    },
    async settle(items) {
      if (items.length === 0) return;
      const args = [
        items.length * 3,
        ...items.flatMap((i) => keys(i.key)),
        HASH_WINDOW,
        TTL_MS,
        ...items.flatMap((i) => [i.seq, i.hash]),
      ];
      try {
        await connect();
        await client.iotGateSettle(...args);
      } catch (err) {
        throw unavailable(err);
      }
    },
    async skipTo(key, seq) {
      const [base, , skipped] = keys(key) as [string, string, string];
      try {
        await connect();
        await client.iotGateSkipTo(base, skipped, seq, MAX_SKIPPED, TTL_MS);
      } catch (err) {
        throw unavailable(err);
      }
    },
    async hole(key) {
      try {
        await connect();
        await client.iotGateHole(`${prefix}${key}`);
      } catch (err) {
        throw unavailable(err);
      }
    },
  };
}
