/**
 * The drill's synthetic clients: they place orders, send chat messages, publish posts and read
 * through the edges, as real clients would — a write keeps its idempotency key across retries,
 * a 503 is retried after its Retry-After, an unanswered write is retried (the key makes that
 * safe) — and every attempt is recorded, so the report can say what clients saw second by second.
 */

import { resolvesWithin } from '../../infra/adapters/dependency.ts';

/** One request as a client saw it. */
export interface Attempt {
  /** ms since the drill started. */
  readonly at: number;
  readonly op: 'placeOrder' | 'sendMessage' | 'createPost' | 'readOrder' | 'readProducts';
  readonly write: boolean;
  readonly edge: string;
  readonly ok: boolean;
  /** HTTP status, or 0 when nothing answered. */
  readonly status: number;
  /** extensions.code of the first error, when there was one. */
  readonly code?: string;
  readonly latencyMs: number;
  /** Which region answered (x-meridian-region). */
  readonly region?: string;
}

/** An order a client was told was placed (its placeOrder answered with an id). */
export interface Acknowledged {
  readonly key: string;
  readonly orderId: string;
  /** ms since the drill started. */
  readonly at: number;
  readonly region: string | undefined;
}

/** A chat message or post a client was told was taken (answered with its id). */
export interface AcknowledgedWrite {
  readonly key: string;
  readonly id: string;
  /** ms since the drill started. */
  readonly at: number;
  readonly region: string | undefined;
  /** The token of the client that wrote it (reads of a room are its members'). */
  readonly token: string;
}

export interface TrafficOptions {
  readonly edges: readonly { readonly name: string; readonly url: string }[];
  readonly tokens: readonly string[];
  readonly productId: string;
  readonly ordersPerSecond: number;
  readonly readsPerSecond: number;
  /** Chat messages per second into `chatRoomId` (a room every token's user is a member of). */
  readonly messagesPerSecond?: number;
  readonly chatRoomId?: string;
  /** Posts per second (every token's user has a social profile). */
  readonly postsPerSecond?: number;
  /** The drill's clock (ms since it started). */
  readonly now: () => number;
}

export interface Traffic {
  readonly attempts: Attempt[];
  readonly acknowledged: Acknowledged[];
  readonly messages: AcknowledgedWrite[];
  readonly posts: AcknowledgedWrite[];
  /** Writes still being retried (never answered yet). */
  readonly inFlight: () => number;
  /** Stops sending new requests, and waits (up to `ms`) for orders in flight to be answered. */
  stop(ms: number): Promise<void>;
}

const PLACE = `mutation Place($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }`;
const SEND = `mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { id } }`;
const POST = `mutation Post($input: CreatePostInput!) { createPost(input: $input) { id } }`;

interface Answer {
  readonly status: number;
  readonly region: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly body?: { data?: Record<string, unknown> | null; errors?: Array<{ extensions?: { code?: string } }> };
}

async function post(url: string, token: string, query: string, variables: unknown): Promise<Answer> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(10_000),
  });
  const retryAfter = Number(res.headers.get('retry-after'));
  return {
    status: res.status,
    region: res.headers.get('x-meridian-region') ?? undefined,
    retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
    body: (await res.json().catch(() => undefined)) as Answer['body'],
  };
}

/** Starts the clients; they run until `stop`. */
export function startTraffic(opts: TrafficOptions): Traffic {
  const attempts: Attempt[] = [];
  const acknowledged: Acknowledged[] = [];
  const messages: AcknowledgedWrite[] = [];
  const posts: AcknowledgedWrite[] = [];
  let stopping = false;
  let nextEdge = 0;
  let nextToken = 0;
  const pending = new Set<Promise<void>>();
  // Who placed each order: reads of an order use its owner's token (anyone else is shown nothing).
  const owner = new Map<string, string>();
  const edge = () => opts.edges[nextEdge++ % opts.edges.length] as { name: string; url: string };
  const token = () => opts.tokens[nextToken++ % opts.tokens.length] as string;

  async function attempt(op: Attempt['op'], write: boolean, query: string, variables: unknown, who: string) {
    const e = edge();
    const t0 = performance.now();
    const at = opts.now();
    try {
      const a = await post(e.url, who, query, variables);
      const code = a.body?.errors?.[0]?.extensions?.code;
      const ok = a.status === 200 && code === undefined && a.body?.data != null;
      attempts.push({
        at,
        op,
        write,
        edge: e.name,
        ok,
        status: a.status,
        code,
        latencyMs: performance.now() - t0,
        region: a.region,
      });
      return { ...a, ok };
    } catch (err) {
      attempts.push({
        at,
        op,
        write,
        edge: e.name,
        ok: false,
        status: 0,
        code: (err as Error).name,
        latencyMs: performance.now() - t0,
      });
      return { ok: false, status: 0, region: undefined, retryAfterMs: undefined };
    }
  }

  /**
   * One client intent: the same key (inside `variables`) until an answer with an id, however long
   * the outage; resolves with the id and the answer's region, or undefined when stopped first.
   */
  async function intent(
    op: Attempt['op'],
    query: string,
    variables: unknown,
    field: string,
    who: string,
  ): Promise<{ id: string; region: string | undefined } | undefined> {
    for (let tries = 0; tries < 600; tries++) {
      const a = await attempt(op, true, query, variables, who);
      const id = (a as Answer & { ok: boolean }).body?.data?.[field] as { id?: string } | undefined;
      if (a.ok && id?.id) return { id: id.id, region: a.region };
      if (stopping && tries > 0 && opts.now() > stopDeadline) return undefined;
      await new Promise((r) => setTimeout(r, a.retryAfterMs ?? 250));
    }
    return undefined;
  }

  async function order(): Promise<void> {
    const key = `drill-${crypto.randomUUID()}`;
    const who = token();
    const input = {
      items: [{ productId: opts.productId, quantity: 1 }],
      idempotencyKey: key,
      paymentToken: 'tok_visa',
    };
    const done = await intent('placeOrder', PLACE, { input }, 'placeOrder', who);
    if (done === undefined) return;
    acknowledged.push({ key, orderId: done.id, at: opts.now(), region: done.region });
    owner.set(done.id, who);
  }

  /** A chat message or post: keyed by `key`, retried like an order, recorded in `into` once answered. */
  async function keyedWrite(
    op: 'sendMessage' | 'createPost',
    query: string,
    input: (key: string) => Record<string, unknown>,
    into: AcknowledgedWrite[],
  ): Promise<void> {
    const key = `drill-${crypto.randomUUID()}`;
    const who = token();
    const done = await intent(op, query, { input: input(key) }, op, who);
    if (done) into.push({ key, id: done.id, at: opts.now(), region: done.region, token: who });
  }
  const message = () =>
    keyedWrite(
      'sendMessage',
      SEND,
      (key) => ({ roomId: opts.chatRoomId, clientMessageId: key, body: `drill message ${key}` }),
      messages,
    );
  const publish = () =>
    keyedWrite('createPost', POST, (key) => ({ body: `drill post ${key}`, idempotencyKey: key }), posts);

  async function read(): Promise<void> {
    const known = acknowledged[Math.floor(Math.random() * acknowledged.length)];
    if (known === undefined || Math.random() < 0.5) {
      await attempt('readProducts', false, '{ products(first: 3) { id stock } }', {}, token());
      return;
    }
    const query = 'query O($id: ID!) { order(id: $id) { id status } }';
    await attempt('readOrder', false, query, { id: known.orderId }, owner.get(known.orderId) ?? token());
  }

  let stopDeadline = Number.POSITIVE_INFINITY;
  const track = (p: Promise<void>) => {
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };
  const every = (perSecond: number, fn: () => Promise<void>) =>
    perSecond > 0 ? setInterval(() => !stopping && track(fn()), 1000 / perSecond) : undefined;
  const timers = [
    every(opts.ordersPerSecond, order),
    every(opts.readsPerSecond, read),
    every(opts.chatRoomId ? (opts.messagesPerSecond ?? 0) : 0, message),
    every(opts.postsPerSecond ?? 0, publish),
  ];

  return {
    attempts,
    acknowledged,
    messages,
    posts,
    inFlight: () => pending.size,
    async stop(ms) {
      stopping = true;
      stopDeadline = opts.now() + ms;
      for (const t of timers) if (t) clearInterval(t);
      await resolvesWithin(Promise.allSettled([...pending]), ms);
    },
  };
}
