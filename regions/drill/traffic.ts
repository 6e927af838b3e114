/**
 * The drill's synthetic clients: they place orders and read through the edges, as real
 * clients would — an order keeps its idempotency key across retries, a 503 is retried after
 * its Retry-After, an unanswered write is retried (the key makes that safe) — and every
 * attempt is recorded, so the report can say what clients saw second by second.
 */

/** One request as a client saw it. */
export interface Attempt {
  /** ms since the drill started. */
  readonly at: number;
  readonly op: 'placeOrder' | 'readOrder' | 'readProducts';
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

export interface TrafficOptions {
  readonly edges: readonly { readonly name: string; readonly url: string }[];
  readonly tokens: readonly string[];
  readonly productId: string;
  readonly ordersPerSecond: number;
  readonly readsPerSecond: number;
  /** The drill's clock (ms since it started). */
  readonly now: () => number;
}

export interface Traffic {
  readonly attempts: Attempt[];
  readonly acknowledged: Acknowledged[];
  /** Orders still being retried (never answered yet). */
  readonly inFlight: () => number;
  /** Stops sending new requests, and waits (up to `ms`) for orders in flight to be answered. */
  stop(ms: number): Promise<void>;
}

const PLACE = `mutation Place($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }`;

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

  /** One client order: the same key until an answer with an id, however long the outage. */
  async function order(): Promise<void> {
    const key = `drill-${crypto.randomUUID()}`;
    const who = token();
    const input = {
      items: [{ productId: opts.productId, quantity: 1 }],
      idempotencyKey: key,
      paymentToken: 'tok_visa',
    };
    for (let tries = 0; tries < 600; tries++) {
      const a = await attempt('placeOrder', true, PLACE, { input }, who);
      const id = (a as Answer & { ok: boolean }).body?.data?.placeOrder as { id?: string } | undefined;
      if (a.ok && id?.id) {
        acknowledged.push({ key, orderId: id.id, at: opts.now(), region: a.region });
        owner.set(id.id, who);
        return;
      }
      if (stopping && tries > 0 && opts.now() > stopDeadline) return;
      await new Promise((r) => setTimeout(r, a.retryAfterMs ?? 250));
    }
  }

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
  const timers = [every(opts.ordersPerSecond, order), every(opts.readsPerSecond, read)];

  return {
    attempts,
    acknowledged,
    inFlight: () => pending.size,
    async stop(ms) {
      stopping = true;
      stopDeadline = opts.now() + ms;
      for (const t of timers) if (t) clearInterval(t);
      await Promise.race([Promise.allSettled([...pending]), new Promise((r) => setTimeout(r, ms))]);
    },
  };
}
