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
  type SequenceItem,
} from '../../domains/iot/sequence.ts';
import { DomainError } from '../../domains/shared/errors.ts';

const TTL_MS = 7 * 24 * 3600 * 1000;

/** The decide script's one-letter answers. */
const DECISION_OF: Record<string, SequenceDecision> = {
  g: 'go',
  w: 'wait',
  d: 'duplicate',
  l: 'late',
  b: 'backwards',
};

// KEYS: per device base, hashes, skipped. ARGV: now, grace, ttl, max skipped, first-sight wait, then the
// items as one JSON array [device, seq, hash, redelivered, …] (device: its 1-based place in KEYS; one
// argument instead of six per item: encoding thousands of arguments was most of a call's cost, in the
// bridge and in Redis), then the numbers in flight [device, seq, hash, …] (counted as settled; their
// devices' state is only read: a decision that would write it waits). Answers one letter per item
// (g, w, d, l, b). Each device's state is read once and written back once per call (a batch holds
// many numbers of few devices); the skipped set and the hashes are read only off the common path.
const DECIDE = `
local now, grace, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local maxSkipped, firstWait = tonumber(ARGV[4]), tonumber(ARGV[5])
local items, inFlight = cjson.decode(ARGV[6]), cjson.decode(ARGV[7])
local out, st, order = {}, {}, {}
local function state(base)
  local s = st[base]
  if s then return s end
  local v = redis.call('HMGET', base, 'last', 'holes', 'first', 'fresh')
  if not v[1] then
    s = {stored = -1, holes = 0, first = now, fresh = true, created = true}
  else
    s = {stored = tonumber(v[1]), holes = tonumber(v[2] or '0'), first = tonumber(v[3] or '0'), fresh = v[4] == '1'}
  end
  s.last = s.stored
  s.lastOut = s.stored
  s.gone = {}
  st[base] = s
  order[#order + 1] = base
  return s
end
local function jump(s, sk, from, seq)
  if seq - from - 1 <= maxSkipped and seq - from - 1 > 0 then
    for n = from + 1, seq - 1 do redis.call('SADD', sk, n) end
    redis.call('PEXPIRE', sk, ttl)
  end
  if seq - 1 > s.lastOut then s.lastOut = seq - 1 end
  s.fresh = false
  s.dirty = true
end
for i = 1, #inFlight / 3 do
  local s = state(KEYS[3*inFlight[3*i-2]-2])
  local seq = inFlight[3*i-1]
  s.speculative = true
  if seq > s.last then s.last = seq end
  s.gone[seq] = inFlight[3*i]
end
for i = 1, #items / 4 do
  local dev = items[4*i-3]
  local base, hk, sk = KEYS[3*dev-2], KEYS[3*dev-1], KEYS[3*dev]
  local seq, h, redelivered = items[4*i-2], items[4*i-1], items[4*i] == 1
  local s = state(base)
  local last = s.last
  local decision
  if seq == last + 1 then
    decision = 'go'
  elseif seq > last + 1 then
    local gap = seq - last - 1
    if s.speculative then
      decision = 'wait'
    elseif s.holes >= gap then
      s.holes = s.holes - gap
      jump(s, sk, last, seq)
      decision = 'go'
    elseif s.fresh and now - s.first >= firstWait then
      jump(s, sk, last, seq)
      decision = 'go'
    else
      decision = 'wait'
    end
  elseif redis.call('SISMEMBER', sk, seq) == 1 then
    decision = 'late'
  elseif redelivered then
    decision = 'duplicate'
  else
    local known = s.gone[seq] or redis.call('HGET', hk, seq)
    if known == h then
      decision = 'duplicate'
    elseif (not known) and now - s.first < grace then
      decision = 'late'
    else
      decision = 'backwards'
    end
  end
  if decision == 'go' then
    s.last = seq
    s.gone[seq] = h
  end
  out[i] = string.sub(decision, 1, 1)
end
for _, base in ipairs(order) do
  local s = st[base]
  local fresh = s.fresh and 1 or 0
  if s.speculative then
    -- read only
  elseif s.created then
    redis.call('HSET', base, 'last', s.lastOut, 'holes', s.holes, 'first', s.first, 'fresh', fresh)
    redis.call('PEXPIRE', base, ttl)
  elseif s.dirty then
    redis.call('HSET', base, 'last', s.lastOut, 'holes', s.holes, 'fresh', fresh)
  end
end
return table.concat(out)
`;

// KEYS: per device base, hashes, skipped. ARGV: window, ttl, then the items as one JSON array
// [device, seq, hash, …] (device: its 1-based place in KEYS). Grouped per device: one write of its
// last number, its hashes in one HSET, the ones out of the window in one HDEL.
const SETTLE = `
local window, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local items = cjson.decode(ARGV[3])
local dev, order = {}, {}
for i = 1, #items / 3 do
  local n = items[3*i-2]
  local base = KEYS[3*n-2]
  local seq, h = items[3*i-1], items[3*i]
  local d = dev[base]
  if not d then
    d = {hk = KEYS[3*n-1], sk = KEYS[3*n], max = seq, items = {}}
    dev[base] = d
    order[#order + 1] = base
  end
  if seq > d.max then d.max = seq end
  d.items[#d.items + 1] = seq
  d.items[#d.items + 1] = h
end
local function chunked(cmd, key, list)
  for j = 1, #list, 4000 do
    redis.call(cmd, key, unpack(list, j, math.min(j + 3999, #list)))
  end
end
for _, base in ipairs(order) do
  local d = dev[base]
  local last = tonumber(redis.call('HGET', base, 'last') or '-1')
  if d.max > last then
    redis.call('HSET', base, 'last', d.max, 'fresh', 0)
  else
    redis.call('HSET', base, 'fresh', 0)
  end
  chunked('HSET', d.hk, d.items)
  -- A number's hash leaves the window when the number HASH_WINDOW above it settles (unless this
  -- call sets it again after that).
  local pos, dels, seqs = {}, {}, {}
  for j = 1, #d.items, 2 do pos[d.items[j]] = j end
  for j = 1, #d.items, 2 do
    local t = d.items[j] - window
    local p = pos[t]
    if not (p and p > j) then dels[#dels + 1] = t end
    seqs[#seqs + 1] = d.items[j]
  end
  chunked('HDEL', d.hk, dels)
  if redis.call('EXISTS', d.sk) == 1 then
    chunked('SREM', d.sk, seqs)
    redis.call('PEXPIRE', d.sk, ttl)
  end
  redis.call('PEXPIRE', base, ttl)
  redis.call('PEXPIRE', d.hk, ttl)
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
  iotGateDecide(...args: Array<string | number>): Promise<string>;
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
  /** KEYS (each device's three keys once) and the items with their device's place in them. */
  const packed = (
    items: readonly Omit<SequenceItem, 'redelivered'>[],
    withRedelivered: boolean,
    inFlight: readonly Omit<SequenceItem, 'redelivered'>[] = [],
  ) => {
    const place = new Map<string, number>();
    const flat: Array<string | number> = [];
    for (const i of items) {
      let n = place.get(i.key);
      if (n === undefined) {
        n = place.size + 1;
        place.set(i.key, n);
      }
      flat.push(n, i.seq, i.hash);
      if (withRedelivered) flat.push((i as SequenceItem).redelivered ? 1 : 0);
    }
    // Only the in-flight numbers of this batch's devices matter to it.
    const flying: Array<string | number> = [];
    for (const i of inFlight) {
      const n = place.get(i.key);
      if (n !== undefined) flying.push(n, i.seq, i.hash);
    }
    return { keys: [...place.keys()].flatMap(keys), items: JSON.stringify(flat), inFlight: JSON.stringify(flying) };
  };
  const connect = async () => {
    if (redis.status === 'wait') await redis.connect();
  };
  return {
    async decide(items, inFlight) {
      if (items.length === 0) return [];
      const p = packed(items, true, inFlight);
      const args = [
        p.keys.length,
        ...p.keys,
        now(),
        FIRST_SIGHT_GRACE_MS,
        TTL_MS,
        MAX_SKIPPED,
        FIRST_SIGHT_WAIT_MS,
        p.items,
        p.inFlight,
      ];
      let answer: string;
      try {
        await connect();
        answer = await client.iotGateDecide(...args);
      } catch (err) {
        throw unavailable(err);
      }
      return Array.from(answer, (letter) => DECISION_OF[letter] as SequenceDecision);
    },
    async settle(items) {
      if (items.length === 0) return;
      const p = packed(items, false);
      const args = [p.keys.length, ...p.keys, HASH_WINDOW, TTL_MS, p.items];
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
