/**
 * Per-tenant and per-client rate limits over any RateLimitStore, with the response headers
 * of the IETF draft "RateLimit header fields for HTTP" (draft-ietf-httpapi-ratelimit-headers-11).
 *
 * Buckets: an authenticated caller spends from its own `client` bucket (tenant + subject)
 * AND its tenant's `tenant` bucket; an anonymous caller from an `anonymous` bucket per
 * address (IPv6 by /64). Both must allow. The client bucket is taken first, so one noisy
 * client is stopped before it drains its tenant's budget; when the tenant then denies, the
 * client's tokens are given back, so a denied request costs nothing anywhere.
 *
 * Header form (draft §3 and §4: Lists of Items whose value is a String naming the policy):
 *   §3 "RateLimit-Policy: "burst";q=100;w=60,"daily";q=1000;w=86400"
 *   §4 "RateLimit: "default";r=50;t=30"
 * Meridian sends, on every response:
 *   RateLimit-Policy: "tenant";q=600;w=60, "client";q=120;w=60      (or "anonymous";q=..;w=..)
 *   RateLimit: "tenant";r=598;t=1, "client";r=110;t=5               (only "client" when that denied)
 * with q = bucket capacity, w = seconds to refill an empty bucket (q/w is the sustained
 * rate), r = whole tokens left, t = seconds until that bucket is full again. Quota units are
 * the default "requests", but a GraphQL operation spends its estimated cost, so one request
 * may take several units. On denial: status 429 and `Retry-After: <seconds until every
 * violated bucket holds the cost>`; the violated policies' items then carry t equal to their
 * own wait, because §6 says Retry-After "SHOULD NOT reference a point in time earlier than
 * the end of the effective window". No `pk` parameter: partition keys would expose tenant
 * and subject ids, which §6.1 advises against.
 */
import { assertPolicy, type BucketPolicy, type BucketResult } from './bucket.ts';
import { clientAddressKey } from './client-address.ts';
import type { RateLimitStore } from './store.ts';

/** Policy names, as they appear in the headers and the `bucket` metric label. */
export const POLICY_NAMES = ['tenant', 'client', 'anonymous'] as const;
/** One of POLICY_NAMES. */
export type PolicyName = (typeof POLICY_NAMES)[number];

/** The three bucket policies. */
export type RateLimitPolicies = Readonly<Record<PolicyName, BucketPolicy>>;

/** Options of createRateLimiter. */
export interface RateLimiterOptions {
  readonly store: RateLimitStore;
  readonly policies: RateLimitPolicies;
  /** Clock in ms; Date.now by default. */
  readonly now?: () => number;
  /**
   * Used when `store` fails or is slower than storeTimeoutMs (e.g. Redis unreachable): the
   * edge then limits per instance instead of not at all. Without it such requests are allowed.
   */
  readonly fallback?: RateLimitStore;
  /** Give up on the store after this long; 200 ms by default, so a hung Redis cannot stall the edge. */
  readonly storeTimeoutMs?: number;
  /** Told about every store failure (for logs and metrics); the decision never throws for it. */
  readonly onStoreError?: (err: unknown) => void;
}

/** Who is asking and what the request costs. */
export interface RateLimitRequest {
  readonly tenant?: string | undefined;
  readonly subject?: string | undefined;
  /** The caller's address, used only when there is no subject. */
  readonly ip?: string | undefined;
  /** Units this request spends: 1 for plain requests, the estimated cost for GraphQL operations. */
  readonly cost: number;
}

/** One bucket's part in a decision. */
export interface BucketOutcome {
  readonly policy: PolicyName;
  readonly result: BucketResult;
}

/** The verdict for one request, with the headers to put on its response whatever the status. */
export interface RateLimitDecision {
  readonly allowed: boolean;
  /** 429 when denied. */
  readonly status: 200 | 429;
  /** `RateLimit-Policy` and `RateLimit` always; `Retry-After` when denied. */
  readonly headers: Readonly<Record<string, string>>;
  /** 0 when allowed. */
  readonly retryAfterSeconds: number;
  /** Policies that denied, for `meridian_edge_rate_limited_total{bucket}` and the problem's violated-policies. */
  readonly violated: readonly PolicyName[];
  readonly buckets: readonly BucketOutcome[];
  /** True when the store failed and the fallback (or nothing) decided. */
  readonly degraded: boolean;
}

/** Checks requests against the tenant and client buckets. */
export interface RateLimiter {
  /** Spends the request's cost from every bucket that applies, or from none when any denies. */
  check(request: RateLimitRequest): Promise<RateLimitDecision>;
  /** The `RateLimit-Policy` value for a caller of this kind, e.g. for responses that spend nothing. */
  policyHeader(kind: { tenant?: string | undefined; subject?: string | undefined }): string;
}

interface Target {
  readonly policy: PolicyName;
  readonly key: string;
}

/** Seconds to refill an empty bucket: the draft's window `w` (a positive integer, §3.1.3). */
function windowSeconds(policy: BucketPolicy): number {
  return Math.max(1, Math.ceil(policy.capacity / policy.refillPerSecond));
}

function policyItem(name: PolicyName, policy: BucketPolicy): string {
  return `"${name}";q=${Math.floor(policy.capacity)};w=${windowSeconds(policy)}`;
}

function limitItem(outcome: BucketOutcome): string {
  const { result } = outcome;
  const t = result.allowed ? result.resetSeconds : result.retryAfterSeconds;
  return `"${outcome.policy}";r=${result.remaining};t=${t}`;
}

// Bucket keys embed caller-chosen strings; encoding keeps "a:b" + "c" apart from "a" + "b:c".
function part(value: string): string {
  return encodeURIComponent(value);
}

// Parsing an address is the dearest part of an anonymous take; the same addresses come back.
const addressKeys = new Map<string | undefined, string>();
function addressKey(ip: string | undefined): string {
  let key = addressKeys.get(ip);
  if (key === undefined) {
    if (addressKeys.size >= 10_000) addressKeys.clear();
    key = clientAddressKey(ip);
    addressKeys.set(ip, key);
  }
  return key;
}

// An authenticated caller's buckets, remembered: the same tenants and subjects come back, and
// encoding their names into keys was a tenth of a take.
const callerTargets = new Map<string, Map<string, readonly Target[]>>();
function targetsOf(request: RateLimitRequest): readonly Target[] {
  const { tenant = '', subject } = request;
  if (subject === undefined || subject === '') return targetsFrom(request);
  let bySubject = callerTargets.get(tenant);
  if (bySubject === undefined) {
    if (callerTargets.size >= 10_000) callerTargets.clear();
    bySubject = new Map();
    callerTargets.set(tenant, bySubject);
  }
  let targets = bySubject.get(subject);
  if (targets === undefined) {
    if (bySubject.size >= 10_000) bySubject.clear();
    targets = targetsFrom(request);
    bySubject.set(subject, targets);
  }
  return targets;
}

function targetsFrom(request: RateLimitRequest): Target[] {
  const targets: Target[] = [];
  if (request.subject !== undefined && request.subject !== '') {
    targets.push({ policy: 'client', key: `client:${part(request.tenant ?? '')}:${part(request.subject)}` });
  } else {
    targets.push({ policy: 'anonymous', key: `anon:${addressKey(request.ip)}` });
  }
  if (request.tenant !== undefined && request.tenant !== '') {
    targets.push({ policy: 'tenant', key: `tenant:${part(request.tenant)}` });
  }
  return targets;
}

/** Header order: tenant first, as the widest partition. */
function ordered(outcomes: BucketOutcome[]): BucketOutcome[] {
  return [...outcomes].sort((a, b) => POLICY_NAMES.indexOf(a.policy) - POLICY_NAMES.indexOf(b.policy));
}

/** Creates a limiter; throws at once on a policy that would never allow anything. */
export function createRateLimiter(opts: RateLimiterOptions): RateLimiter {
  const { store, policies, fallback, onStoreError } = opts;
  const now = opts.now ?? Date.now;
  const storeTimeoutMs = opts.storeTimeoutMs ?? 200;
  for (const name of POLICY_NAMES) assertPolicy(policies[name], `policies.${name}`);

  async function withTimeout(promise: Promise<BucketResult>): Promise<BucketResult> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`rate-limit store gave no answer within ${storeTimeoutMs} ms`)),
        storeTimeoutMs,
      );
    });
    try {
      return await Promise.race([promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A take on the primary store, or on the fallback when the primary fails; undefined when both fail. */
  async function take(target: Target, cost: number, state: { degraded: boolean }): Promise<BucketResult | undefined> {
    const policy = policies[target.policy];
    const at = now();
    if (!state.degraded) {
      try {
        const taking = store.take(target.key, cost, policy, at);
        return await (store.inProcess ? taking : withTimeout(taking));
      } catch (err) {
        state.degraded = true;
        onStoreError?.(err);
      }
    }
    if (fallback === undefined) return undefined;
    try {
      return await fallback.take(target.key, cost, policy, at);
    } catch (err) {
      onStoreError?.(err);
      return undefined;
    }
  }

  // The header depends only on which kinds of bucket apply: four values, built once each.
  const policyHeaders = new Map<string, string>();
  function policyHeader(kind: { tenant?: string | undefined; subject?: string | undefined }): string {
    const id = `${kind.subject ? 's' : ''}${kind.tenant ? 't' : ''}`;
    let header = policyHeaders.get(id);
    if (header === undefined) {
      const names = targetsOf({ ...kind, cost: 0 }).map((t) => t.policy);
      header = POLICY_NAMES.filter((n) => names.includes(n))
        .map((n) => policyItem(n, policies[n]))
        .join(', ');
      policyHeaders.set(id, header);
    }
    return header;
  }

  function decide(outcomes: BucketOutcome[], request: RateLimitRequest, degraded: boolean): RateLimitDecision {
    if (outcomes.length > 0 && outcomes.every((o) => o.result.allowed))
      return allowedDecision(outcomes, request, degraded);
    const violated = outcomes.filter((o) => !o.result.allowed);
    const allowed = violated.length === 0;
    const retryAfterSeconds = allowed ? 0 : Math.max(...violated.map((o) => o.result.retryAfterSeconds));
    const headers: Record<string, string> = { 'RateLimit-Policy': policyHeader(request) };
    const sorted = ordered(outcomes);
    if (sorted.length > 0) headers.RateLimit = sorted.map(limitItem).join(', ');
    if (!allowed) headers['Retry-After'] = String(retryAfterSeconds);
    return {
      allowed,
      status: allowed ? 200 : 429,
      headers,
      retryAfterSeconds,
      violated: violated.map((o) => o.policy),
      buckets: sorted,
      degraded,
    };
  }

  /** The common case, on every request: everything allowed (no sorting, filtering or Retry-After). */
  function allowedDecision(outcomes: BucketOutcome[], request: RateLimitRequest, degraded: boolean): RateLimitDecision {
    const [a, b] = outcomes as [BucketOutcome, BucketOutcome | undefined];
    const sorted =
      b === undefined || POLICY_NAMES.indexOf(a.policy) <= POLICY_NAMES.indexOf(b.policy) ? outcomes : [b, a];
    const headers: Record<string, string> = {
      'RateLimit-Policy': policyHeader(request),
      RateLimit:
        b === undefined
          ? limitItem(a)
          : `${limitItem(sorted[0] as BucketOutcome)}, ${limitItem(sorted[1] as BucketOutcome)}`,
    };
    return { allowed: true, status: 200, headers, retryAfterSeconds: 0, violated: [], buckets: sorted, degraded };
  }

  async function check(request: RateLimitRequest): Promise<RateLimitDecision> {
    const { cost } = request;
    if (!Number.isFinite(cost) || cost < 0) throw new RangeError('cost must be a finite number >= 0');
    const state = { degraded: false };
    const [first, second] = targetsOf(request) as [Target, Target | undefined];

    const firstResult = await take(first, cost, state);
    if (firstResult === undefined) return decide([], request, true);
    const outcomes: BucketOutcome[] = [{ policy: first.policy, result: firstResult }];
    if (second === undefined) return decide(outcomes, request, state.degraded);

    // A denied client never reaches its tenant's bucket: no charge, and no extra round trip per
    // request from a client hammering an empty bucket. Its RateLimit field then names only the
    // client policy (the draft lets a server omit items), which is also all it can act on.
    if (!firstResult.allowed) return decide(outcomes, request, state.degraded);
    const secondResult = await take(second, cost, state);
    if (secondResult === undefined) return decide(outcomes, request, true);
    outcomes.push({ policy: second.policy, result: secondResult });
    // After a store failure the two takes may sit in different stores; skip the refund then.
    if (!secondResult.allowed && cost > 0 && !state.degraded) {
      const refunded = await take(first, -cost, state);
      if (refunded !== undefined) outcomes[0] = { policy: first.policy, result: refunded };
    }
    return decide(outcomes, request, state.degraded);
  }

  return { check, policyHeader };
}

/** RFC 9457 body for a 429, with the draft's (§5.1) quota-exceeded problem type. */
export function quotaExceededProblem(decision: RateLimitDecision): Record<string, unknown> {
  return {
    type: 'https://iana.org/assignments/http-problem-types#quota-exceeded',
    title: 'Request cannot be satisfied as assigned quota has been exceeded',
    status: 429,
    detail: `rate limit exceeded for ${decision.violated.join(', ')}; retry after ${decision.retryAfterSeconds} s`,
    'violated-policies': decision.violated,
  };
}
