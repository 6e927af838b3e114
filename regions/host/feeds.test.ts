/** The host's projections over modules, with two made-up modules (no real domain is named here). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Actor } from '../../domains/shared/actor.ts';
import { DomainError } from '../../domains/shared/errors.ts';
import { createPurgeSubscriber } from '../../edge/purge/subscriber.ts';
import type { Envelope } from '../../infra/events/envelope.ts';
import { createHub, type Delivery, type Subscription } from '../hub/hub.ts';
import { sseRoutes } from '../hub/sse.ts';
import { globalTopicKey, tenantTopicKey, topicResolver } from '../hub/topics.ts';
import type { DomainModule, DomainParts, Processor } from './domain-module.ts';
import {
  appliedPurgeId,
  byOwner,
  type ComposedDomain,
  changeOf,
  droppingAppliedPeerChanges,
  droppingAppliedPeerChangesOfRuns,
  GLOBAL_TOPICS,
  leavingMovedWritesToTheWriter,
  liveFeed,
  PURGE_SCOPE,
  PURGE_TOPIC,
  type PurgeMessageData,
  parsePurgeMessage,
  publishPurge,
  publishToHub,
  purgeEchoService,
  regionWidePurges,
} from './feeds.ts';

const TRACE = '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01';
let n = 0;
function event(type: string, data: Record<string, unknown>, tenant = 'acme'): Envelope {
  n += 1;
  return {
    specversion: '1.0',
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    type,
    source: '/regions/east/widgets',
    time: '2026-11-30T00:00:00.000Z',
    subject: String(data.id ?? 'x'),
    tenant,
    traceparent: TRACE,
    datacontenttype: 'application/json',
    data,
  };
}

/** A module owning widget events: a widget change is hard, a stock tick soft; it feeds `widget.<id>`. */
const widgets: DomainModule = {
  name: 'widgets',
  events: ['widgets.widget.changed.v1', 'widgets.stock.ticked.v1', 'widgets.audit.logged.v1'],
  changingEvents: ['widgets.widget.changed.v1', 'widgets.stock.ticked.v1'],
  changedEntities(e) {
    const id = String((e.data as { id?: unknown }).id);
    if (e.type === 'widgets.widget.changed.v1') return { entities: [{ type: 'Widget', id }], soft: false };
    if (e.type === 'widgets.stock.ticked.v1') {
      return {
        entities: [
          { type: 'Widget', id },
          { type: 'Widget', id },
        ],
        soft: true,
      };
    }
    return undefined;
  },
  setup: async () => ({}),
};
const widgetParts: DomainParts = {
  hubFeed: {
    topics: ['widgets.widget.changed.v1'],
    publications: (e) => [
      { topic: `widget.${(e.data as { id: string }).id}`, message: { id: e.id, event: e.type, data: e.data } },
    ],
  },
};
/** A second module: it owns no widget events, but its cache holds widgets too. */
const gadgets: DomainModule = { name: 'gadgets', events: ['gadgets.gadget.made.v1'], setup: async () => ({}) };
const domains: ComposedDomain[] = [
  { module: widgets as DomainModule<unknown>, parts: widgetParts },
  { module: gadgets as DomainModule<unknown>, parts: {} },
];

async function take(sub: Subscription): Promise<Delivery> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('no delivery within 500 ms')), 500);
  });
  try {
    const r = await Promise.race([sub.next(), timeout]);
    assert.equal(r.done, false);
    return r.value as Delivery;
  } finally {
    clearTimeout(timer);
  }
}

const actor = (scopes: string[], tenant = 'meridian'): Actor => ({ subject: 'edge-1', tenant, scopes });

describe('changeOf', () => {
  it('asks the module that owns the event type', () => {
    assert.deepEqual(changeOf(domains, event('widgets.widget.changed.v1', { id: 'w1' })), {
      entities: [{ type: 'Widget', id: 'w1' }],
      soft: false,
    });
  });

  it('is undefined for events no module owns, a module without changedEntities, or an empty change', () => {
    assert.equal(changeOf(domains, event('nobody.thing.done.v1', { id: 'w1' })), undefined);
    assert.equal(changeOf(domains, event('gadgets.gadget.made.v1', { id: 'g1' })), undefined);
    assert.equal(changeOf(domains, event('widgets.audit.logged.v1', { id: 'w1' })), undefined);
  });
});

describe('publishPurge (real hub)', () => {
  it('publishes tags once each on the global purge topic, with softness, source and the event id', async () => {
    const hub = createHub();
    const sub = hub.subscribe([`*/${PURGE_TOPIC}`]);
    const tick = event('widgets.stock.ticked.v1', { id: 'w1' });
    const change = event('widgets.widget.changed.v1', { id: 'w2' });
    assert.equal(publishPurge(hub, domains, tick), true);
    assert.equal(publishPurge(hub, domains, change), true);
    const first = await take(sub);
    assert.equal(first.id, tick.id);
    assert.equal(first.event, 'purge');
    assert.deepEqual(first.data, {
      tags: ['Widget:w1'],
      soft: true,
      source: '/regions/east/widgets',
      type: 'widgets.stock.ticked.v1',
      time: tick.time,
    } satisfies PurgeMessageData);
    const second = await take(sub);
    assert.deepEqual([second.id, (second.data as PurgeMessageData).soft], [change.id, false]);
    sub.close();
    hub.close();
  });

  it('a Kafka redelivery (same event id) is published once; an event that changes nothing, never', () => {
    const hub = createHub();
    const e = event('widgets.widget.changed.v1', { id: 'w1' });
    assert.equal(publishPurge(hub, domains, e), true);
    assert.equal(publishPurge(hub, domains, e), false);
    assert.equal(publishPurge(hub, domains, event('widgets.audit.logged.v1', { id: 'w1' })), false);
    assert.equal(hub.stats().topics, 1);
    hub.close();
  });
});

describe('publishToHub', () => {
  it("publishes a module's messages in the event's tenant only", async () => {
    const hub = createHub();
    const acme = hub.subscribe([tenantTopicKey('acme', 'widget.w1')]);
    const globex = hub.subscribe([tenantTopicKey('globex', 'widget.w1')]);
    const e = event('widgets.widget.changed.v1', { id: 'w1' }, 'globex');
    assert.equal(publishToHub(hub, domains, e), 1);
    assert.equal((await take(globex)).id, e.id);
    assert.equal(acme.pending, 0, 'the same topic name in another tenant got nothing');
    assert.equal(publishToHub(hub, domains, event('widgets.stock.ticked.v1', { id: 'w1' })), 0, 'not fed');
    hub.close();
  });
});

describe('purge feed → hub SSE → edge subscriber (wire contract)', () => {
  it('the edge gets each purge once from each region it follows, with tags and softness; a client without the scope gets 403', async () => {
    const hub = createHub();
    const tokens: Record<string, Actor> = { edge: actor([PURGE_SCOPE]), client: actor(['orders:read'], 'acme') };
    const app = sseRoutes({
      hub,
      verify: async (authorization) => {
        const found = tokens[authorization?.replace(/^Bearer /, '') ?? ''];
        if (found === undefined) throw new DomainError('UNAUTHENTICATED', 'unknown token');
        return found;
      },
      topics: topicResolver([], GLOBAL_TOPICS),
    });
    const denied = await app.request(`/v1/stream?topics=${PURGE_TOPIC}`, {
      headers: { authorization: 'Bearer client' },
    });
    assert.equal(denied.status, 403);

    const purges: Array<{ tags: string[]; soft: boolean }> = [];
    // Both "regions" are this one hub: every event arrives twice, as once regions mirror each other (both purge).
    const inProcess: typeof fetch = (input, init) => Promise.resolve(app.fetch(new Request(String(input), init)));
    const subscriber = createPurgeSubscriber({
      regions: { east: 'http://east.test', west: 'http://west.test' },
      token: () => 'edge',
      onPurge: (tags, soft) => {
        purges.push({ tags, soft });
      },
      fetch: inProcess,
    });
    subscriber.start();
    try {
      const deadline = Date.now() + 2000;
      while (hub.stats().subscriptions < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      assert.equal(hub.stats().subscriptions, 2, 'both streams are subscribed');
      publishPurge(hub, domains, event('widgets.stock.ticked.v1', { id: 'w7' }));
      publishPurge(hub, domains, event('widgets.widget.changed.v1', { id: 'w8' }));
      while (purges.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 20)); // room for a third copy to (wrongly) arrive
      const seen = (tag: string) => purges.filter((p) => p.tags.join() === tag);
      assert.equal(purges.length, 4);
      assert.deepEqual(seen('Widget:w7'), [
        { tags: ['Widget:w7'], soft: true },
        { tags: ['Widget:w7'], soft: true },
      ]);
      assert.deepEqual(seen('Widget:w8'), [
        { tags: ['Widget:w8'], soft: false },
        { tags: ['Widget:w8'], soft: false },
      ]);
      assert.equal(subscriber.status().duplicates, 0);
    } finally {
      await subscriber.stop();
      hub.close();
    }
  });
});

describe('liveFeed (purges and hub publications from one consumer)', () => {
  /** A hub that records what is published, failing on the topics it is told to. */
  function recordingHub(failOn: (topic: string) => boolean = () => false) {
    const published: Array<{ topic: string; event: string }> = [];
    return {
      published,
      publish(topic: string, message: { event: string }) {
        if (failOn(topic)) throw new Error(`hub refused ${topic}`);
        published.push({ topic, event: message.event });
        return true;
      },
    };
  }
  const purgeKey = globalTopicKey(PURGE_TOPIC);

  it('reads the changing events and the fed ones, once each; not a type that changes nothing and feeds nothing', () => {
    const feed = liveFeed(domains, recordingHub());
    assert.deepEqual(feed.types.sort(), ['widgets.stock.ticked.v1', 'widgets.widget.changed.v1']);
  });

  it('an event that changes and is fed is purged and published; one that only changes, only purged', async () => {
    const hub = recordingHub();
    const feed = liveFeed(domains, hub);
    await feed.handle(event('widgets.widget.changed.v1', { id: 'w1' }));
    await feed.handle(event('widgets.stock.ticked.v1', { id: 'w2' }));
    const where = hub.published.map((p) => (p.topic === purgeKey ? 'purge' : p.topic));
    assert.deepEqual(where, ['purge', tenantTopicKey('acme', 'widget.w1'), 'purge']);
  });

  it('a failing purge does not keep the publication from the hub, and the failure is still reported', async () => {
    const hub = recordingHub((topic) => topic === purgeKey);
    const feed = liveFeed(domains, hub);
    await assert.rejects(feed.handle(event('widgets.widget.changed.v1', { id: 'w3' })), /hub refused/);
    assert.deepEqual(
      hub.published.map((p) => p.topic),
      [tenantTopicKey('acme', 'widget.w3')],
    );
  });

  /** Every module's cache, recording what it was told and what the hub had published by then. */
  function withCaches(hub: ReturnType<typeof recordingHub>, failing = false) {
    const invalidated: Array<{ cache: string; ids: string[]; publishedBefore: number }> = [];
    const cacheOf = (name: string): NonNullable<DomainParts['cache']> => ({
      async invalidate(change) {
        await new Promise((r) => setTimeout(r, 5)); // a round trip to the cache
        invalidated.push({ cache: name, ids: change.entities.map((e) => e.id), publishedBefore: hub.published.length });
        if (failing) throw new Error(`${name} cache unreachable`);
      },
    });
    const composed: ComposedDomain[] = [
      { module: widgets as DomainModule<unknown>, parts: { ...widgetParts, cache: cacheOf('widgets') } },
      { module: gadgets as DomainModule<unknown>, parts: { cache: cacheOf('gadgets') } },
    ];
    return { composed, invalidated };
  }

  it("drops what the event changed from every module's cache before the edges and clients hear of it", async () => {
    const hub = recordingHub();
    const { composed, invalidated } = withCaches(hub);
    const feed = liveFeed(composed, hub);
    await feed.handle(event('widgets.widget.changed.v1', { id: 'w4' }));
    assert.deepEqual(invalidated.map((i) => [i.cache, i.ids, i.publishedBefore]).sort(), [
      ['gadgets', ['w4'], 0],
      ['widgets', ['w4'], 0],
    ]);
    assert.deepEqual(
      hub.published.map((p) => (p.topic === purgeKey ? 'purge' : p.topic)),
      ['purge', tenantTopicKey('acme', 'widget.w4')],
    );
    // An event that changes nothing cached invalidates nothing.
    await feed.handle(event('widgets.audit.logged.v1', { id: 'w4' }));
    assert.equal(invalidated.length, 2);
  });

  it('a cache that cannot be reached does not keep the purge from the edges; the failure is reported', async () => {
    const hub = recordingHub();
    const { composed } = withCaches(hub, true);
    const feed = liveFeed(composed, hub);
    await assert.rejects(feed.handle(event('widgets.widget.changed.v1', { id: 'w5' })), /cache unreachable/);
    assert.deepEqual(
      hub.published.map((p) => (p.topic === purgeKey ? 'purge' : p.topic)),
      ['purge', tenantTopicKey('acme', 'widget.w5')],
    );
  });
});

describe('byOwner (one consumer per domain)', () => {
  it('groups types by the module that owns them, each type once, in the order met; an unowned type alone', () => {
    const types = [
      'gadgets.gadget.made.v1',
      'widgets.stock.ticked.v1',
      'nobody.thing.happened.v1',
      'widgets.widget.changed.v1',
      'widgets.stock.ticked.v1',
    ];
    assert.deepEqual(byOwner(domains, types), [
      { owner: 'gadgets', types: ['gadgets.gadget.made.v1'] },
      { owner: 'widgets', types: ['widgets.stock.ticked.v1', 'widgets.widget.changed.v1'] },
      { owner: 'nobody.thing.happened.v1', types: ['nobody.thing.happened.v1'] },
    ]);
  });
});

describe("droppingAppliedPeerChanges (a peer's change, once applied here)", () => {
  function setup(fail = false) {
    const steps: string[] = [];
    const hub = {
      publish(topic: string, message: { id: string; event: string; data: unknown }) {
        steps.push(
          `${topic === globalTopicKey(PURGE_TOPIC) ? 'purge' : topic} ${message.id} ${(message.data as PurgeMessageData).tags}`,
        );
        return true;
      },
    };
    const cache = (name: string): NonNullable<DomainParts['cache']> => ({
      async invalidate(change) {
        steps.push(`${name} drops ${change.entities.map((e) => e.id).join()}`);
      },
    });
    const composed: ComposedDomain[] = [
      { module: widgets as DomainModule<unknown>, parts: { ...widgetParts, cache: cache('widgets') } },
      { module: gadgets as DomainModule<unknown>, parts: { cache: cache('gadgets') } },
    ];
    const handle = droppingAppliedPeerChanges(
      composed,
      async (e, meta) => {
        steps.push(`applied ${(e.data as { id: string }).id} (${meta.origin})`);
        if (fail) throw new Error('database unreachable');
      },
      hub,
    );
    return { steps, handle };
  }
  const peer = { topic: 'west.widgets.widget.changed.v1', origin: 'peer' as const };

  it("drops the change from every module's cache after the handler applied the peer's event, then purges the edges", async () => {
    const { steps, handle } = setup();
    const e = event('widgets.widget.changed.v1', { id: 'w1' });
    await handle(e, peer);
    // An id of its own: the live feed's purge of this event (its id) came before, and the hub and
    // the edge would drop a second message with the same id.
    assert.equal(appliedPurgeId(e.id), `${e.id}.applied`);
    assert.deepEqual(steps, [
      'applied w1 (peer)',
      'widgets drops w1',
      'gadgets drops w1',
      `purge ${e.id}.applied Widget:w1`,
    ]);
  });

  it("leaves the caches to the live feed for this region's own events, and for events that change nothing", async () => {
    const { steps, handle } = setup();
    await handle(event('widgets.widget.changed.v1', { id: 'w2' }), {
      topic: 'widgets.widget.changed.v1',
      origin: 'local',
    });
    await handle(event('widgets.audit.logged.v1', { id: 'w3' }), {
      topic: 'west.widgets.audit.logged.v1',
      origin: 'peer',
    });
    assert.deepEqual(steps, ['applied w2 (local)', 'applied w3 (peer)']);
  });

  it('drops nothing when the handler failed (the event is handled again)', async () => {
    const { steps, handle } = setup(true);
    await assert.rejects(handle(event('widgets.widget.changed.v1', { id: 'w4' }), peer), /database unreachable/);
    assert.deepEqual(steps, ['applied w4 (peer)']);
  });

  it('is the handler itself when no module has a cache and there is no hub', () => {
    const handler = async () => {};
    assert.equal(droppingAppliedPeerChanges(domains, handler), handler);
  });

  it("for a processor's runs: once the whole run is applied, each peer event's change in its order; a failed run drops nothing", async () => {
    const { steps } = setup();
    const cache = (name: string): NonNullable<DomainParts['cache']> => ({
      async invalidate(change) {
        steps.push(`${name} drops ${change.entities.map((e) => e.id).join()}`);
      },
    });
    const composed: ComposedDomain[] = [
      { module: widgets as DomainModule<unknown>, parts: { ...widgetParts, cache: cache('widgets') } },
    ];
    let fail = false;
    const handleRun = droppingAppliedPeerChangesOfRuns(composed, async (events, metas) => {
      steps.push(
        `applied ${events.map((e, i) => `${(e.data as { id: string }).id} (${metas[i]?.origin})`).join(', ')}`,
      );
      if (fail) throw new Error('database unreachable');
    });
    const local = { topic: 'widgets.widget.changed.v1', origin: 'local' as const };
    await handleRun(
      [
        event('widgets.widget.changed.v1', { id: 'w5' }),
        event('widgets.widget.changed.v1', { id: 'w6' }),
        event('widgets.widget.changed.v1', { id: 'w7' }),
      ],
      [peer, local, peer],
    );
    assert.deepEqual(steps, ['applied w5 (peer), w6 (local), w7 (peer)', 'widgets drops w5', 'widgets drops w7']);
    fail = true;
    steps.length = 0;
    await assert.rejects(handleRun([event('widgets.widget.changed.v1', { id: 'w8' })], [peer]), /unreachable/);
    assert.deepEqual(steps, ['applied w8 (peer)']);
    const run = async () => {};
    assert.equal(droppingAppliedPeerChangesOfRuns(domains, run), run, 'nothing to drop: the handler itself');
  });
});

/** The region's purge channel in memory (the Redis adapter has its own integration test). */
function memoryChannel(opts: { refusals?: number } = {}) {
  const followers = new Set<(text: string) => void>();
  const published: string[] = [];
  return {
    published,
    followers,
    failing: false,
    /** How many more follow() calls are refused, as by a Redis that is down. */
    refusals: opts.refusals ?? 0,
    async publish(text: string) {
      if (this.failing) throw new Error('redis unreachable');
      published.push(text);
      for (const f of followers) queueMicrotask(() => f(text));
      return followers.size;
    },
    async follow(onMessage: (text: string) => void) {
      if (this.refusals-- > 0) throw new Error('connect ECONNREFUSED');
      followers.add(onMessage);
      return {
        async stop() {
          followers.delete(onMessage);
        },
      };
    },
  };
}

describe("a purge one process makes reaches every process's hub (the region's purge channel)", () => {
  const purgeKey = globalTopicKey(PURGE_TOPIC);
  function regionProcess(channel: ReturnType<typeof memoryChannel>, lines: string[] = [], retryMs?: number) {
    const hub = createHub();
    const ctx = {
      region: 'east',
      peer: 'west',
      deps: {} as never,
      domains: [],
      log: (line: string) => lines.push(line),
      needs: [],
      hub,
      purges: channel,
    };
    return { hub, ctx, echo: purgeEchoService(ctx, retryMs), purges: regionWidePurges(ctx), lines };
  }
  const purge = (id: string) => ({
    id,
    event: 'purge',
    data: { tags: ['Widget:w1'], soft: false, source: '/regions/west/widgets', type: 't', time: 'now' },
  });

  it("an applied peer change purged in process A is heard by an edge following process B's hub, once", {
    timeout: 5000,
  }, async () => {
    const channel = memoryChannel();
    const a = regionProcess(channel);
    const b = regionProcess(channel);
    await a.echo.start();
    await b.echo.start();
    const onB = b.hub.subscribe([purgeKey]);
    const onA = a.hub.subscribe([purgeKey]);
    try {
      const composed: ComposedDomain[] = [{ module: widgets as DomainModule<unknown>, parts: widgetParts }];
      const handle = droppingAppliedPeerChanges(composed, async () => {}, a.purges);
      const e = event('widgets.widget.changed.v1', { id: 'w1' });
      await handle(e, { topic: 'west.widgets.widget.changed.v1', origin: 'peer' });
      const heardB = await onB.next();
      assert.equal(heardB.value?.id, appliedPurgeId(e.id));
      assert.deepEqual((heardB.value?.data as PurgeMessageData | undefined)?.tags, ['Widget:w1']);
      const heardA = await onA.next();
      assert.equal(heardA.value?.id, appliedPurgeId(e.id));
      // A's own echo of it is dropped by id: A's subscriber has nothing more.
      await new Promise((r) => setTimeout(r, 10));
      a.hub.publish(purgeKey, purge('marker'));
      assert.equal((await onA.next()).value?.id, 'marker');
    } finally {
      onA.close();
      onB.close();
      await a.echo.stop();
      await b.echo.stop();
    }
  });

  it('only purges travel: other hub topics stay in their process', async () => {
    const channel = memoryChannel();
    const a = regionProcess(channel);
    assert.equal(a.purges.publish(tenantTopicKey('acme', 'widget.w1'), { id: 'x', event: 'e', data: {} }), true);
    assert.equal(a.purges.publish(purgeKey, purge('p1')), true);
    assert.deepEqual(
      channel.published.map((t) => JSON.parse(t).id),
      ['p1'],
    );
  });

  it('a channel that fails is logged; the local hub has the purge all the same', async () => {
    const channel = memoryChannel();
    channel.failing = true;
    const a = regionProcess(channel);
    const sub = a.hub.subscribe([purgeKey]);
    assert.equal(a.purges.publish(purgeKey, purge('p2')), true);
    assert.equal((await sub.next()).value?.id, 'p2');
    await new Promise((r) => setTimeout(r, 0));
    assert.match(a.lines.join('\n'), /p2 not passed on: redis unreachable/);
    sub.close();
  });

  it('what is not a purge message is dropped and logged, never put on the hub', async () => {
    const channel = memoryChannel();
    const b = regionProcess(channel);
    await b.echo.start();
    const sub = b.hub.subscribe([purgeKey]);
    for (const junk of [
      'not json',
      'null',
      '{}',
      JSON.stringify({ ...purge('x'), event: 'message' }),
      JSON.stringify({ ...purge('x'), data: { tags: [1] } }),
      JSON.stringify({ ...purge('two\nlines'), id: 'two\nlines' }),
      JSON.stringify(purge('')),
    ]) {
      await channel.publish(junk);
    }
    await channel.publish(JSON.stringify(purge('good')));
    await new Promise((r) => setTimeout(r, 10));
    assert.equal((await sub.next()).value?.id, 'good');
    assert.equal(b.lines.filter((l) => /not a purge/.test(l)).length, 7);
    sub.close();
    await b.echo.stop();
    assert.equal(channel.followers.size, 0, 'stop leaves the channel');
  });

  it('starts without Redis and follows once it can (the region reports it not ready meanwhile)', async () => {
    const channel = memoryChannel({ refusals: 2 });
    const { hub, echo, lines } = regionProcess(channel, [], 5);
    await echo.start();
    await assert.rejects(echo.check?.() ?? Promise.resolve(), /not following the purge channel: connect ECONNREFUSED/);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(await echo.check?.(), 'following');
    assert.equal(lines.filter((l) => /not following, trying again/.test(l)).length, 2);
    const sub = hub.subscribe([purgeKey]);
    await channel.publish(JSON.stringify(purge('after')));
    assert.equal((await sub.next()).value?.id, 'after');
    sub.close();
    await echo.stop();
    assert.equal(channel.followers.size, 0);
  });

  it('stopped while retrying, it follows nothing', async () => {
    const channel = memoryChannel({ refusals: 1 });
    const { echo } = regionProcess(channel, [], 20);
    await echo.start();
    await echo.stop();
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(channel.refusals, 0, 'no second attempt after stop');
    assert.equal(channel.followers.size, 0);
  });

  it('parsePurgeMessage keeps exactly the purge fields', () => {
    assert.deepEqual(parsePurgeMessage(JSON.stringify({ ...purge('p'), extra: 1 })), purge('p'));
    assert.equal(parsePurgeMessage(JSON.stringify({ id: 'p', event: 'purge' })), undefined);
  });
});

describe('leavingMovedWritesToTheWriter (single-writer processors)', () => {
  const meta = { topic: 'widgets.widget.changed.v1', origin: 'local' as const };
  it("makes WRITER_MOVED retryable: the event is the new writer's, never dead-lettered here", async () => {
    const moved = new DomainError(
      'WRITER_MOVED',
      'widgets are written in region west (epoch 7); send the write there',
      {
        details: { writer: 'west', epoch: 7 },
      },
    );
    const handle = leavingMovedWritesToTheWriter<Parameters<Processor['handle']>>(async () => {
      throw moved;
    });
    await assert.rejects(handle(event('widgets.widget.changed.v1', { id: 'w1' }), meta), (err: unknown) => {
      assert.ok(err instanceof DomainError);
      assert.equal(err.code, 'WRITER_MOVED');
      assert.equal(err.retryable, true);
      assert.deepEqual(err.details, { writer: 'west', epoch: 7 });
      assert.equal(err.cause, moved);
      return true;
    });
  });

  it('passes other failures through as they are, and a success', async () => {
    const invalid = new DomainError('INVALID_EVENT', 'bad widget');
    const failing = leavingMovedWritesToTheWriter<Parameters<Processor['handle']>>(async () => {
      throw invalid;
    });
    await assert.rejects(failing(event('widgets.widget.changed.v1', { id: 'w2' }), meta), (err) => err === invalid);
    let handled = 0;
    await leavingMovedWritesToTheWriter<Parameters<Processor['handle']>>(async () => {
      handled++;
    })(event('widgets.widget.changed.v1', { id: 'w3' }), meta);
    assert.equal(handled, 1);
  });
});
