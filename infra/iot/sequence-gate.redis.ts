/**
 * The bridges' ordering gate (domains/iot/sequence.ts has the rules) in the region's Redis: one
 * small state per device, decided and settled by Lua scripts, so every bridge process of the
 * region sees one atomic view. Per device: a hash `<prefix><mqttId>` with its state (last, holes,
 * first, fresh; `skips` while it has skipped numbers; `touched`: when its expiry was last pushed
 * back) and its recent payload hashes in HASH_WINDOW ring slots (`h<seq mod window>` =
 * `<seq>:<hash>`), and its skipped numbers in a set `…:s`; both expire a week after the device's
 * last message. A batch is one script call, which touches a device's hash once to decide and
 * twice to settle (its state and hashes in one HSET; the expiry pushed back once a day), whatever
 * the number of its readings: with 1,000 devices a cycle holds about two readings per device.
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

/** How long before pushing a device's expiry back again (a write per device per day, not per settle). */
const TOUCH_EVERY_MS = 24 * 3600 * 1000;

// Lua shared by the scripts: the number and payload hash a device's ring slot holds (`<seq>:<hash>`), if any.
const SLOT_OF = `
local function slotOf(base, slot)
  local stored = redis.call('HGET', base, 'h' .. slot)
  if not stored then return nil end
  local at = string.find(stored, ':', 1, true)
  return tonumber(string.sub(stored, 1, at - 1)), string.sub(stored, at + 1)
end`;

// KEYS: per device its hash and its skipped set. ARGV: now, grace, ttl, max skipped, first-sight
// wait, window, then the items as one JSON array [device, seq, hash, redelivered, …] (device: its
// 1-based place in KEYS; one argument instead of six per item: encoding thousands of arguments was
// most of a call's cost, in the bridge and in Redis), then the numbers in flight [device, seq, hash,
// …] (counted as settled; their devices' state is only read: a decision that would write it waits).
// Answers one letter per item (g, w, d, l, b). Each device's state is read once and written back at
// most once per call (a batch holds many numbers of few devices); the skipped set and the hash slots
// are read only off the common path.
const DECIDE = `${SLOT_OF}
local now, grace, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local maxSkipped, firstWait, window = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local items, inFlight = cjson.decode(ARGV[7]), cjson.decode(ARGV[8])
local out, st, order = {}, {}, {}
local function state(base)
  local s = st[base]
  if s then return s end
  local v = redis.call('HMGET', base, 'last', 'holes', 'first', 'fresh', 'skips')
  if not v[1] then
    s = {stored = -1, holes = 0, first = now, fresh = true, created = true}
  else
    s = {stored = tonumber(v[1]), holes = tonumber(v[2] or '0'), first = tonumber(v[3] or '0'), fresh = v[4] == '1', skips = v[5] ~= '0'}
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
    s.skips = true
  end
  if seq - 1 > s.lastOut then s.lastOut = seq - 1 end
  s.fresh = false
  s.dirty = true
end
-- The payload hash settled under seq, if its slot still holds that number.
local function settledHash(base, seq)
  local held, h = slotOf(base, seq % window)
  if held ~= seq then return nil end
  return h
end
for i = 1, #inFlight / 3 do
  local s = state(KEYS[2*inFlight[3*i-2]-1])
  local seq = inFlight[3*i-1]
  s.speculative = true
  if seq > s.last then s.last = seq end
  s.gone[seq] = inFlight[3*i]
end
for i = 1, #items / 4 do
  local dev = items[4*i-3]
  local base, sk = KEYS[2*dev-1], KEYS[2*dev]
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
  elseif s.skips and redis.call('SISMEMBER', sk, seq) == 1 then
    decision = 'late'
  elseif redelivered then
    decision = 'duplicate'
  else
    local known = s.gone[seq] or settledHash(base, seq)
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
  local skips = s.skips and 1 or 0
  if s.speculative then
    -- read only
  elseif s.created then
    redis.call('HSET', base, 'last', s.lastOut, 'holes', s.holes, 'first', s.first, 'fresh', fresh, 'skips', skips, 'touched', now)
    redis.call('PEXPIRE', base, ttl)
  elseif s.dirty then
    redis.call('HSET', base, 'last', s.lastOut, 'holes', s.holes, 'fresh', fresh, 'skips', skips)
  end
end
return table.concat(out)
`;

// KEYS: per device its hash and its skipped set. ARGV: window, ttl, now, touch-every, then the
// items as one JSON array [device, seq, hash, …] (device: its 1-based place in KEYS). Grouped per
// device: one HMGET of its state, one HSET of its last number and its hashes' ring slots (a slot
// holds the newest settled number of its residue: the hash of seq - window leaves as seq's comes);
// its skipped set only while it has one, its expiry once a day.
const SETTLE = `${SLOT_OF}
local window, ttl, now, touchEvery = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local items = cjson.decode(ARGV[5])
local dev, order = {}, {}
for i = 1, #items / 3 do
  local n = items[3*i-2]
  local base = KEYS[2*n-1]
  local seq, h = items[3*i-1], items[3*i]
  local d = dev[base]
  if not d then
    d = {sk = KEYS[2*n], max = seq, slots = {}, hashes = {}, seqs = {}}
    dev[base] = d
    order[#order + 1] = base
  end
  if seq > d.max then d.max = seq end
  local slot = seq % window
  local held = d.slots[slot]
  -- Within one call, the newest number of a residue keeps its slot.
  if not held or held < seq then d.slots[slot] = seq; d.hashes[slot] = h end
  d.seqs[#d.seqs + 1] = seq
end
for _, base in ipairs(order) do
  local d = dev[base]
  local v = redis.call('HMGET', base, 'last', 'skips', 'touched')
  local last = tonumber(v[1] or '-1')
  local args = {'fresh', 0}
  if d.max > last then args[#args + 1] = 'last'; args[#args + 1] = d.max end
  for slot, seq in pairs(d.slots) do
    -- A number above the stored last is the newest of its residue; a late one (below it) never
    -- takes the slot of a newer number.
    local take = seq > last
    if not take then
      local held = slotOf(base, slot)
      take = not held or held < seq
    end
    if take then
      args[#args + 1] = 'h' .. slot
      args[#args + 1] = seq .. ':' .. d.hashes[slot]
    end
  end
  local touch = now - tonumber(v[3] or '0') >= touchEvery
  if touch then args[#args + 1] = 'touched'; args[#args + 1] = now end
  redis.call('HSET', base, unpack(args))
  -- A state without the field (written before it existed) may have a skipped set: look once.
  if v[2] ~= '0' then
    for j = 1, #d.seqs, 4000 do
      redis.call('SREM', d.sk, unpack(d.seqs, j, math.min(j + 3999, #d.seqs)))
    end
    if redis.call('SCARD', d.sk) == 0 then redis.call('HSET', base, 'skips', 0) end
  end
  if touch then redis.call('PEXPIRE', base, ttl) end
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
  redis.call('HSET', KEYS[1], 'skips', 1)
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
  const keys = (key: string) => [`${prefix}${key}`, `${prefix}${key}:s`];
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
        HASH_WINDOW,
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
      const args = [p.keys.length, ...p.keys, HASH_WINDOW, TTL_MS, now(), TOUCH_EVERY_MS, p.items];
      try {
        await connect();
        await client.iotGateSettle(...args);
      } catch (err) {
        throw unavailable(err);
      }
    },
    async skipTo(key, seq) {
      const [base, skipped] = keys(key) as [string, string];
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
