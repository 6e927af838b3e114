import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPurgeSubscriber, type PurgeSubscriberOptions, purgeStreamUrl } from './subscriber.ts';

const HUBS = { east: 'http://127.0.0.1:41001', west: 'http://127.0.0.1:42001' };
type Region = keyof typeof HUBS;
const encoder = new TextEncoder();

/** One stream the subscriber opened; the test writes its frames. */
interface Connection {
  readonly region: Region;
  readonly url: string;
  readonly headers: Headers;
  readonly signal: AbortSignal | undefined;
  write(text: string): void;
  end(): void;
}

/** Two scripted hubs behind one injected fetch. `refuse[region]` answers the next attempts instead of a stream. */
function fakeHubs() {
  const connections: Connection[] = [];
  const refuse: Record<Region, Array<() => Promise<Response>>> = { east: [], west: [] };
  const attempts: Record<Region, number> = { east: 0, west: 0 };
  const fetchFn: typeof fetch = (input, init) => {
    const url = String(input);
    const region: Region = url.startsWith(HUBS.east) ? 'east' : 'west';
    attempts[region] += 1;
    const scripted = refuse[region].shift();
    if (scripted) return scripted();
    let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        controller = c;
      },
    });
    const signal = init?.signal ?? undefined;
    // Like a real fetch: an abort errors the body being read.
    signal?.addEventListener('abort', () => {
      try {
        controller?.error(new DOMException('aborted', 'AbortError'));
      } catch {}
    });
    connections.push({
      region,
      url,
      headers: new Headers(init?.headers),
      signal,
      write: (text) => controller?.enqueue(encoder.encode(text)),
      end: () => {
        try {
          controller?.close();
        } catch {}
      },
    });
    return Promise.resolve(new Response(body, { headers: { 'content-type': 'text/event-stream' } }));
  };
  const of = (region: Region) => connections.filter((c) => c.region === region);
  return {
    fetch: fetchFn,
    refuse,
    attempts,
    of,
    /** The region's n-th connection (0-based), once it exists. */
    async connection(region: Region, n = 0): Promise<Connection> {
      await waitFor(() => of(region).length > n, `${region} connection #${n}`);
      return of(region)[n] as Connection;
    },
  };
}

async function waitFor(condition: () => boolean, what: string, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const purgeFrame = (id: string, tags: string[], soft = false) =>
  `id: ${id}\nevent: purge\ndata: ${JSON.stringify({ tags, soft, source: '/regions/east/commerce' })}\n\n`;

function setup(overrides: Partial<PurgeSubscriberOptions> = {}) {
  const hubs = fakeHubs();
  const purges: Array<{ tags: string[]; soft: boolean }> = [];
  const gaps: Array<[string, string]> = [];
  const logs: string[] = [];
  let tokens = 0;
  const subscriber = createPurgeSubscriber({
    regions: HUBS,
    token: () => {
      tokens += 1;
      return `tok-${tokens}`;
    },
    onPurge: (tags, soft) => {
      purges.push({ tags, soft });
    },
    onGap: (region, reason) => gaps.push([region, reason]),
    fetch: hubs.fetch,
    reconnectMs: 5,
    maxReconnectMs: 20,
    log: (line) => logs.push(line),
    ...overrides,
  });
  subscriber.start();
  return { hubs, subscriber, purges, gaps, logs, tokens: () => tokens };
}

describe('purge subscriber', () => {
  it('follows edge.purge on every region with a bearer token', async () => {
    const { hubs, subscriber } = setup();
    const east = await hubs.connection('east');
    const west = await hubs.connection('west');
    assert.equal(east.url, 'http://127.0.0.1:41001/v1/stream?topics=edge.purge');
    assert.equal(west.url, 'http://127.0.0.1:42001/v1/stream?topics=edge.purge');
    assert.match(east.headers.get('authorization') ?? '', /^Bearer tok-\d$/);
    assert.equal(east.headers.get('accept'), 'text/event-stream');
    assert.equal(east.headers.get('last-event-id'), null);
    await waitFor(() => subscriber.status().regions.east?.connected === true, 'connected');
    await subscriber.stop();
  });

  it("purges once per event id from each region: the other region's copy purges again, a region's repeat does not", async () => {
    const { hubs, subscriber, purges } = setup();
    const east = await hubs.connection('east');
    const west = await hubs.connection('west');
    east.write('retry: 2000\n\n: ping\n\n');
    east.write(purgeFrame('e1', ['Product:1', 'Product:2'], true));
    await waitFor(() => purges.length === 1, 'first purge');
    east.write(purgeFrame('e1', ['Product:1', 'Product:2'], true)); // east says it again
    west.write(purgeFrame('e1', ['Product:1', 'Product:2'], true)); // the mirrored copy, once west has it
    west.write(purgeFrame('w1', ['Order:9'], false));
    await waitFor(() => purges.length === 3, 'third purge');
    assert.deepEqual(purges, [
      { tags: ['Product:1', 'Product:2'], soft: true },
      { tags: ['Product:1', 'Product:2'], soft: true },
      { tags: ['Order:9'], soft: false },
    ]);
    const status = subscriber.status();
    assert.equal(status.purges, 3);
    assert.equal(status.duplicates, 1);
    assert.equal(status.regions.west?.lastEventId, 'w1');
    await subscriber.stop();
  });

  it('reconnects after a drop with Last-Event-ID and a fresh token', async () => {
    const { hubs, subscriber, purges, gaps, tokens } = setup();
    const first = await hubs.connection('east');
    first.write(purgeFrame('e1', ['Product:1']));
    first.write('id: e2\nevent: purge\ndata: {"tags":["Prod'); // dropped mid-event
    await waitFor(() => purges.length === 1, 'purge e1');
    first.end();
    const second = await hubs.connection('east', 1);
    assert.equal(second.headers.get('last-event-id'), 'e1', 'resume from the last complete event');
    assert.ok(tokens() >= 3, 'a token per connection');
    second.write(purgeFrame('e2', ['Product:2']));
    await waitFor(() => purges.length === 2, 'purge e2 after resume');
    assert.deepEqual(gaps, [], 'a resumable drop is no gap');
    assert.equal(subscriber.status().regions.east?.connects, 2);
    await subscriber.stop();
  });

  it('parses frames split across chunks and CRLF line ends', async () => {
    const { hubs, subscriber, purges } = setup();
    const east = await hubs.connection('east');
    for (const chunk of ['id: s1\r\nevent: pu', 'rge\r\ndata: {"tags":["User:u1"],', '"soft":true}\r', '\n\r\n']) {
      east.write(chunk);
    }
    await waitFor(() => purges.length === 1, 'split purge');
    assert.deepEqual(purges, [{ tags: ['User:u1'], soft: true }]);
    await subscriber.stop();
  });

  it('reports a gap when the hub cannot resume, or there was no id to resume from', async () => {
    const { hubs, subscriber, gaps } = setup();
    const first = await hubs.connection('east');
    first.write(': hello\n\n');
    first.end(); // dropped before any event: nothing to resume from
    const second = await hubs.connection('east', 1);
    await waitFor(() => gaps.length === 1, 'no-resume-point gap');
    second.write('event: reset\ndata: {"reason":"resume-not-possible"}\n\n');
    await waitFor(() => gaps.length === 2, 'reset gap');
    assert.deepEqual(gaps, [
      ['east', 'no-resume-point'],
      ['east', 'reset'],
    ]);
    assert.equal(subscriber.status().gaps, 2);
    await subscriber.stop();
  });

  it('retries refused connections with backoff and reports the error', async () => {
    const hubsUp = fakeHubs();
    hubsUp.refuse.east.push(
      () => Promise.resolve(new Response('{"status":401}', { status: 401, headers: { 'content-type': 'x' } })),
      () => Promise.reject(new TypeError('fetch failed: ECONNREFUSED')),
    );
    const { subscriber } = setup({ fetch: hubsUp.fetch });
    await waitFor(() => hubsUp.attempts.east >= 2, 'two failed attempts');
    await waitFor(() => subscriber.status().regions.east?.lastError?.includes('ECONNREFUSED') ?? false, 'error');
    await hubsUp.connection('east');
    await waitFor(() => subscriber.status().regions.east?.connected === true, 'connected on the third try');
    assert.equal(hubsUp.attempts.east, 3);
    assert.equal(subscriber.status().regions.east?.lastError, null);
    await subscriber.stop();
  });

  it('a token provider that throws is a failed attempt, retried', async () => {
    let calls = 0;
    const { hubs, subscriber } = setup({
      token: async () => {
        calls += 1;
        if (calls <= 2) throw new Error('issuer unavailable');
        return 'tok';
      },
      regions: { east: HUBS.east },
    });
    const east = await hubs.connection('east');
    assert.equal(east.headers.get('authorization'), 'Bearer tok');
    await subscriber.stop();
  });

  it('reopens a stream that stays silent for idleTimeoutMs', async () => {
    const { hubs, subscriber } = setup({ idleTimeoutMs: 30 });
    const first = await hubs.connection('east');
    await hubs.connection('east', 1);
    assert.equal(first.signal?.aborted, true, 'the silent connection is closed');
    await subscriber.stop();
  });

  it('ignores malformed purges and other events; purges hard unless soft is exactly true', async () => {
    const { hubs, subscriber, purges, logs } = setup();
    const east = await hubs.connection('east');
    east.write('id: m1\nevent: purge\ndata: not json\n\n');
    east.write('id: m2\nevent: purge\ndata: {"tags":[]}\n\n');
    east.write('id: m3\nevent: commerce.order.created.v1\ndata: {"tags":["Order:1"]}\n\n');
    east.write('id: m4\nevent: purge\ndata: {"tags":["Order:1", 7, "", "Order:1"],"soft":"yes"}\n\n');
    await waitFor(() => purges.length === 1, 'the valid purge');
    assert.deepEqual(purges, [{ tags: ['Order:1'], soft: false }]);
    assert.equal(logs.filter((l) => /without tags/.test(l)).length, 2);
    await subscriber.stop();
  });

  it('keeps the stream when onPurge throws', async () => {
    const seen: string[] = [];
    const { hubs, subscriber, logs } = setup({
      onPurge: (tags) => {
        seen.push(...tags);
        if (tags[0] === 'A:1') throw new Error('cache broke');
      },
    });
    const east = await hubs.connection('east');
    east.write(purgeFrame('x1', ['A:1']));
    east.write(purgeFrame('x2', ['B:2']));
    await waitFor(() => seen.length === 2, 'both purges');
    assert.equal(hubs.of('east').length, 1, 'no reconnect');
    assert.ok(logs.some((l) => /cache broke/.test(l)));
    await subscriber.stop();
  });

  it('stop() closes every stream, ends the loops and opens nothing after', async () => {
    const { hubs, subscriber } = setup();
    const east = await hubs.connection('east');
    const west = await hubs.connection('west');
    await subscriber.stop();
    assert.equal(east.signal?.aborted, true);
    assert.equal(west.signal?.aborted, true);
    const status = subscriber.status();
    assert.equal(status.regions.east?.connected, false);
    assert.equal(status.regions.west?.connected, false);
    const before = hubs.attempts.east + hubs.attempts.west;
    await new Promise((resolve) => setTimeout(resolve, 40));
    assert.equal(hubs.attempts.east + hubs.attempts.west, before);
    await subscriber.stop(); // idempotent
  });

  it('dedupes within a bounded window of ids', async () => {
    const { hubs, subscriber, purges } = setup({ dedupeWindow: 2 });
    const east = await hubs.connection('east');
    for (const id of ['a', 'b', 'c']) east.write(purgeFrame(id, [`T:${id}`]));
    await waitFor(() => purges.length === 3, 'three purges');
    east.write(purgeFrame('a', ['T:a'])); // forgotten: the window holds b and c only
    east.write(purgeFrame('c', ['T:c']));
    await waitFor(() => subscriber.status().regions.east?.events === 5, 'east events');
    assert.deepEqual(
      purges.map((p) => p.tags[0]),
      ['T:a', 'T:b', 'T:c', 'T:a'],
    );
    await subscriber.stop();
  });
});

describe('purgeStreamUrl', () => {
  it("adds the hub's stream path to a base URL, and the topic to any", () => {
    assert.equal(purgeStreamUrl('http://127.0.0.1:41001'), 'http://127.0.0.1:41001/v1/stream?topics=edge.purge');
    assert.equal(purgeStreamUrl('https://hub.example/v1/stream'), 'https://hub.example/v1/stream?topics=edge.purge');
  });

  it('rejects a configuration without regions or with a bad URL', () => {
    const base = { token: () => 't', onPurge: () => {} };
    assert.throws(() => createPurgeSubscriber({ ...base, regions: {} }), /at least one/);
    assert.throws(() => createPurgeSubscriber({ ...base, regions: { east: 'nope' } }), /regions\.east/);
  });
});
