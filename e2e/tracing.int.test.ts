/**
 * One placeOrder through the edge is one OpenTelemetry trace, across every process and both
 * transports: the Deno edge (OpenTelemetry's JS SDK, as on Node) → the region gateway → the commerce
 * subgraph → the inventory gRPC service → PostgreSQL → the outbox relay → Kafka → the payment
 * processor → the SOAP payment provider (a process of its own) → the hub push. Every process
 * is the real one, started with tracing on (`startCluster({ otlpEndpoint })`), exporting OTLP/JSON
 * over HTTP to a receiver in this test. Both edges make their own server spans (sampling first,
 * edge/runtime/server-spans.ts): a query through either is the edge's span → its origin call → the
 * gateway; through the edge on Deno's built-in OpenTelemetry, Deno's spans carry the same chain.
 * Runs alone in the e2e tier: it moves the writer lease to east (where it normally is).
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createPostgres } from '../infra/adapters/postgres.ts';
import { until } from '../infra/adapters/testing.ts';
import { resolveEndpoints } from '../infra/config/endpoints.ts';
import { type Cluster, startCluster } from '../regions/drill/cluster.ts';
import { moveWriter } from '../regions/drill/drill.ts';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from './support/otlp-receiver.ts';

const PLACE = 'mutation Place($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }';
const SERVER = 2;
const CLIENT = 3;
const PRODUCER = 4;
const CONSUMER = 5;

describe('one trace from the edge to the fan-out', () => {
  let receiver: OtlpReceiver;
  let cluster: Cluster;
  const lines: string[] = [];
  const productId = `p-trace-${randomUUID().slice(0, 8)}`;

  before(async () => {
    receiver = await startOtlpReceiver();
    cluster = await startCluster({ otlpEndpoint: receiver.url, log: (l) => lines.push(l) });
    for (const region of ['east', 'west'] as const) {
      const db = createPostgres({ url: resolveEndpoints(region, process.env).postgresUrl });
      await db.pool.query(
        "INSERT INTO products (id, sku, name, price_cents, stock) VALUES ($1, $1, 'traced product', 500, 100)",
        [productId],
      );
      await db.close();
    }
    await moveWriter(cluster, 'east');
  });
  after(async () => {
    await cluster?.stop();
    await receiver?.close();
  });

  it('placeOrder through the Deno edge: every hop in one trace, every span’s parent in it', async () => {
    const edge = cluster.edges.find((e) => e.name === 'edge-deno');
    assert.ok(edge);
    const token = await tokenFor('tracer');
    // The client starts the trace, as a browser with OpenTelemetry would.
    const traceId = randomBytes(16).toString('hex');
    const clientSpan = randomBytes(8).toString('hex');
    const res = await fetch(`${edge.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
        traceparent: `00-${traceId}-${clientSpan}-01`,
      },
      body: JSON.stringify({
        query: PLACE,
        variables: {
          input: { items: [{ productId, quantity: 1 }], idempotencyKey: randomUUID(), paymentToken: 'tok_visa' },
        },
      }),
    });
    const body = (await res.json()) as { data?: { placeOrder?: { id: string } }; errors?: unknown };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.ok(body.data?.placeOrder?.id, JSON.stringify(body));

    const inTrace = () => receiver.spans().filter((s) => s.traceId === traceId);
    const has = (pred: (s: ReceivedSpan) => boolean) => inTrace().some(pred);
    const hops: Record<string, (s: ReceivedSpan) => boolean> = {
      'edge (Deno) serves the request': (s) => s.service === 'meridian-edge-deno' && s.kind === SERVER,
      'region gateway serves it': (s) =>
        s.service === 'meridian-region-east' && s.kind === SERVER && /POST/.test(s.name),
      'the subgraph resolves placeOrder': (s) => s.service === 'meridian-region-east' && /placeOrder/.test(s.name),
      'inventory over gRPC (client and server)': (s) => s.attributes['rpc.system'] === 'grpc' && s.kind === SERVER,
      PostgreSQL: (s) => s.attributes['db.system'] === 'postgresql' || s.attributes['db.system.name'] === 'postgresql',
      'the event is created': (s) => s.name === 'create commerce.order.created.v1' && s.kind === PRODUCER,
      'the relay sends it to Kafka': (s) => s.name === 'send commerce.order.created.v1' && s.kind === PRODUCER,
      'the payment processor processes it': (s) =>
        s.name === 'process commerce.order.created.v1' && s.kind === CONSUMER,
      'the SOAP call to the provider': (s) =>
        s.service === 'meridian-region-east' &&
        s.kind === CLIENT &&
        /POST/.test(s.name) &&
        /soap/.test(String(s.attributes['url.full'] ?? s.attributes['http.url'] ?? '')),
      'the provider serves it': (s) => s.service === 'meridian-payment-provider' && s.kind === SERVER,
      'the confirmation is pushed to the hub': (s) => s.name === 'publish hub commerce.order.confirmed.v1',
    };
    await until(async () => (Object.values(hops).every(has) ? true : undefined), {
      timeoutMs: 45_000,
      intervalMs: 250,
    }).catch(() => undefined); // what is missing is asserted next, by name
    const missing = Object.entries(hops)
      .filter(([, pred]) => !has(pred))
      .map(([hop]) => hop);
    assert.deepEqual(
      missing,
      [],
      `spans in the trace:\n${inTrace()
        .map((s) => `${s.service} ${s.kind} ${s.name}`)
        .join('\n')}\nserver spans of other traces:\n${receiver
        .spans()
        .filter((s) => s.traceId !== traceId && s.kind === SERVER)
        .slice(0, 20)
        .map((s) => `${s.service} ${s.traceId} ${s.parentSpanId ?? '-'} ${s.name}`)
        .join('\n')}`,
    );
    // One trace, not fragments: every span's parent is a span of the trace (or the client's).
    // A parent ends after its children, so it may come in a later export batch: wait for it.
    const orphans = () => {
      const ids = new Set(inTrace().map((s) => s.spanId));
      return inTrace().filter(
        (s) => s.parentSpanId !== undefined && s.parentSpanId !== clientSpan && !ids.has(s.parentSpanId),
      );
    };
    await until(async () => (orphans().length === 0 ? true : undefined), { timeoutMs: 15_000, intervalMs: 250 }).catch(
      () => undefined, // asserted next, with the names
    );
    assert.deepEqual(
      orphans().map((s) => `${s.service} ${s.name}`),
      [],
      'every parent span was exported in the same trace',
    );
    const roots = inTrace().filter((s) => s.parentSpanId === undefined);
    assert.deepEqual(roots, [], 'nothing in the trace started a trace of its own');
  });

  for (const name of ['edge-node', 'edge-deno', 'edge-deno-builtin'])
    it(`a query through ${name}: its server span, then its origin call, then the gateway, one chain`, async () => {
      await queryChain(name);
    });

  for (const name of ['edge-node', 'edge-deno', 'edge-deno-builtin'])
    it(`an SSE subscription through ${name}: its server span, then its call to the hub, then the hub, one chain`, async () => {
      await streamChain(name);
    });

  /** Follows one's own orders over SSE through the edge `name`, with a sampled client trace. */
  async function streamChain(name: string): Promise<void> {
    const service = `meridian-${name}`;
    const edge = cluster.edges.find((e) => e.name === name);
    assert.ok(edge);
    const sub = `sse-${randomUUID().slice(0, 6)}`;
    const token = await tokenFor(sub);
    const traceId = randomBytes(16).toString('hex');
    const clientSpan = randomBytes(8).toString('hex');
    const stream = new AbortController();
    const res = await fetch(`${edge.url}/v1/stream?topics=user.${sub}.orders`, {
      headers: { authorization: `Bearer ${token}`, traceparent: `00-${traceId}-${clientSpan}-01` },
      signal: stream.signal,
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    stream.abort();
    await res.body?.cancel().catch(() => {});
    const { chain, inTrace } = await edgeChain(service, traceId);
    assert.equal(chain.server.parentSpanId, clientSpan, "the edge's span continues the client's");
    assert.equal(chain.call.parentSpanId, chain.server.spanId, 'the call to the hub is a child of the edge span');
    assert.equal(chain.region.kind, SERVER, "the hub serves the edge's call");
    const roots = inTrace().filter((s) => s.parentSpanId === undefined);
    assert.deepEqual(roots, [], 'nothing started a trace of its own');
  }

  /**
   * Waits for the chain a request through the edge `service` leaves in trace `traceId`: the edge's
   * server span, its call to a region (a CLIENT span), and the region's span that call is the
   * parent of (the gateway and the hub share the region's process and service name).
   */
  async function edgeChain(service: string, traceId: string) {
    const inTrace = () => receiver.spans().filter((s) => s.traceId === traceId);
    const find = (pred: (s: ReceivedSpan) => boolean) => inTrace().find(pred);
    const chain = await until(
      async () => {
        const server = find((s) => s.service === service && s.kind === SERVER);
        const call = find((s) => s.service === service && s.kind === CLIENT);
        const region = find((s) => s.service.startsWith('meridian-region-') && s.parentSpanId === call?.spanId);
        return server && call && region ? { server, call, region } : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    ).catch(() => undefined);
    assert.ok(
      chain,
      `spans in the trace:\n${inTrace()
        .map((s) => `${s.service} ${s.kind} ${s.name} ${s.spanId} < ${s.parentSpanId}`)
        .join('\n')}`,
    );
    return { chain, inTrace };
  }

  /** A token of the region's dev issuer for `sub`, in a tenant of its own. */
  async function tokenFor(sub: string): Promise<string> {
    const issued = await fetch(`${cluster.regions.east.gatewayUrl}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sub, tenant: `trace-${randomUUID().slice(0, 6)}`, scopes: ['orders:write'] }),
    });
    return ((await issued.json()) as { access_token: string }).access_token;
  }

  async function queryChain(name: string): Promise<void> {
    const service = `meridian-${name}`;
    const edge = cluster.edges.find((e) => e.name === name);
    assert.ok(edge);
    const traceId = randomBytes(16).toString('hex');
    const clientSpan = randomBytes(8).toString('hex');
    // A fresh alias: a cache miss, so the edge calls the region.
    const res = await fetch(`${edge.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${clientSpan}-01` },
      body: JSON.stringify({ query: `{ p${randomBytes(4).toString('hex')}: products(first: 1) { id } }` }),
    });
    assert.equal(res.status, 200, await res.text());
    const { chain, inTrace } = await edgeChain(service, traceId);
    assert.equal(chain.server.parentSpanId, clientSpan, "the edge's span continues the client's");
    // Deno's built-in names its span after the method only.
    assert.match(chain.server.name, name === 'edge-deno-builtin' ? /^POST/ : /^POST \/graphql$/);
    assert.equal(chain.call.parentSpanId, chain.server.spanId, 'the origin call is a child of the edge span');
    assert.equal(chain.region.service, 'meridian-region-east');
    assert.equal(chain.region.kind, SERVER);
    assert.match(chain.region.name, /POST/, "the gateway serves the edge's call");
    assert.equal(
      inTrace().filter((s) => s.service === service && s.kind === SERVER).length,
      1,
      'one server span per request (no instrumentation makes one of its own)',
    );
    assert.equal(
      inTrace().filter((s) => s.service === service && s.kind === CLIENT).length,
      1,
      'one client span for the one origin call',
    );
  }
});
