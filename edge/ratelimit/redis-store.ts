/**
 * RateLimitStore on Redis, shared by every edge instance that points at the same Redis, so
 * a tenant's budget holds however many instances serve it. Each take is ONE Lua script
 * (atomic on the server: no read-modify-write race between instances) that mirrors
 * bucket.ts's takeTokens. Keys expire when their bucket would be full again, so idle
 * clients cost no memory. The only module of the edge that talks to ioredis; it needs
 * just `eval`/`evalsha`, so the app's core never imports the driver.
 */
import type { Redis } from 'ioredis';
import { type BucketPolicy, type BucketResult, resultOf } from './bucket.ts';
import type { RateLimitStore } from './store.ts';

/** The two commands the store uses (an ioredis client or cluster has both). */
export type RedisEvalClient = Pick<Redis, 'eval' | 'evalsha'>;

/** Options of createRedisStore. */
export interface RedisStoreOptions {
  readonly client: RedisEvalClient;
  /** Prefix of every key; 'meridian:edge:rl:' by default. */
  readonly keyPrefix?: string;
  /**
   * Whose clock refills buckets: 'server' (Redis TIME, the default) so edge instances with
   * skewed clocks still agree, or 'caller' (the nowMs passed to take) for fake clocks in tests.
   */
  readonly clock?: 'server' | 'caller';
}

// KEYS[1] = bucket hash {t = tokens, u = updated at ms}
// ARGV = capacity, refillPerSecond, cost, nowMs ('' = use the server's TIME)
// Returns {allowed 0|1, tokens after as a string}: a Lua number in a reply would be truncated to an integer.
const TAKE_SCRIPT = `
if redis.replicate_commands then redis.replicate_commands() end
local capacity = tonumber(ARGV[1])
local refill = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local state = redis.call('HMGET', KEYS[1], 't', 'u')
local tokens = capacity
if state[1] and state[2] then
  local elapsed = math.max(0, now - tonumber(state[2]))
  tokens = math.min(capacity, tonumber(state[1]) + elapsed * refill / 1000)
end
if tokens < cost then
  return {0, tostring(tokens)}
end
tokens = math.min(capacity, tokens - cost)
local ttl = math.ceil((capacity - tokens) * 1000 / refill)
if ttl <= 0 then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 't', tostring(tokens), 'u', tostring(now))
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return {1, tostring(tokens)}
`;

async function sha1Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-1', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

/** Creates a Redis-backed store; the caller owns (connects and quits) the client. */
export function createRedisStore(opts: RedisStoreOptions): RateLimitStore {
  const { client, keyPrefix = 'meridian:edge:rl:', clock = 'server' } = opts;
  let sha: Promise<string> | undefined;

  async function run(key: string, args: string[]): Promise<unknown> {
    sha ??= sha1Hex(TAKE_SCRIPT);
    try {
      return await client.evalsha(await sha, 1, key, ...args);
    } catch (err) {
      // First use on this server, or after SCRIPT FLUSH / failover: EVAL also caches the script.
      if (!isNoScript(err)) throw err;
      return client.eval(TAKE_SCRIPT, 1, key, ...args);
    }
  }

  async function take(key: string, cost: number, policy: BucketPolicy, nowMs: number): Promise<BucketResult> {
    const now = clock === 'caller' ? String(Math.floor(nowMs)) : '';
    const reply = await run(`${keyPrefix}${key}`, [
      String(policy.capacity),
      String(policy.refillPerSecond),
      String(cost),
      now,
    ]);
    if (!Array.isArray(reply) || reply.length !== 2) throw new Error('rate-limit script returned an unexpected reply');
    const allowed = Number(reply[0]) === 1;
    const tokens = Number(reply[1]);
    if (!Number.isFinite(tokens)) throw new Error('rate-limit script returned a non-numeric token count');
    return resultOf(allowed, tokens, policy, cost);
  }

  return { take };
}
