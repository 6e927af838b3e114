/**
 * Chat across regions, end to end on the real stack: two regions (east and west, each on its
 * own database), the real Kafka of each and MirrorMaker 2 between them, and the edge as a real
 * process (Deno, and Node for the WebSocket pass-through) in front. Clients are the
 * `graphql-ws` client from npm, connected through the edge.
 *
 * The MirrorMaker 2 test SIGKILLs the stack's MirrorMaker 2 process mid-conversation and
 * restarts it with the stack's own command (`infra/stack/cli.ts up mirrormaker`); it is
 * brought back up afterwards whatever happens.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import {
  type LiveResult,
  type LiveSubscription,
  live,
  liveClient,
  quietSubscriptions,
  untilSubscriptions,
} from '../regions/hub/testing.ts';
import {
  type ChatWorld,
  chatEdgeEnv,
  createRoom,
  ensureMirrorMaker,
  gqlAs,
  historyOf,
  mirrorMakerPid,
  startChatWorld,
  waitForRoom,
} from './support/chat.ts';
import { type EdgeProcess, RUNTIMES, startEdge } from './support/edge-process.ts';

/** MirrorMaker 2 is at-least-once and restarts its tasks on topic changes: allow it time. */
const CROSS_REGION_MS = 90_000;
const ADDED = 'subscription($r: ID!) { messageAdded(roomId: $r) { id body author { id } region cursor } }';
const SEND = 'mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }';

let world: ChatWorld;
const tenant = `t-xr-${randomUUID().slice(0, 8)}`;

before(async () => {
  world = await startChatWorld();
});

interface Subscriptions {
  readonly east: number;
  readonly west: number;
}

/** Each region's hub subscriptions before a test opens its own (the edges' purge feeds are some). */
async function idleSubscriptions(): Promise<Subscriptions> {
  const [east, west] = await Promise.all([
    quietSubscriptions(world.east.region.hub),
    quietSubscriptions(world.west.region.hub),
  ]);
  return { east, west };
}

/** Until each region's hub holds its idle subscriptions plus the test's own (graphql-ws acknowledges no subscribe). */
async function subscribed(idle: Subscriptions, open: Partial<Subscriptions>): Promise<void> {
  await Promise.all([
    untilSubscriptions(world.east.region.hub, idle.east + (open.east ?? 0)),
    untilSubscriptions(world.west.region.hub, idle.west + (open.west ?? 0)),
  ]);
}
after(async () => {
  await world?.stop();
});

interface Added {
  readonly id: string;
  readonly body: string;
  readonly author: { readonly id: string };
  readonly region: string;
  readonly cursor: string;
}

const added = (r: LiveResult) => r.data?.messageAdded as Added | undefined;

/** The edge's WebSocket URL for a region. */
const socketUrl = (edge: EdgeProcess, region: 'east' | 'west') =>
  `${edge.url.replace(/^http/, 'ws')}/v1/graphql?region=${region}`;

/** Sends a message over the socket (a sendMessage mutation on the same connection). */
async function sendOver(client: ReturnType<typeof liveClient>, roomId: string, body: string): Promise<string> {
  const r = await live(client, {
    query: SEND,
    variables: { i: { roomId, clientMessageId: `cm-${randomUUID()}`, body } },
  }).next(15_000);
  assert.equal(r.errors, undefined, JSON.stringify(r.errors));
  const id = (r.data?.sendMessage as { id?: string } | undefined)?.id;
  assert.ok(id, 'sendMessage answered an id');
  return id;
}

/** Collects deliveries until `bodies` all arrived (then a little longer, to catch duplicates). */
async function collect(sub: LiveSubscription, bodies: readonly string[], ms: number): Promise<Added[]> {
  const got: Added[] = [];
  const deadline = Date.now() + ms;
  const missing = () => bodies.filter((b) => !got.some((g) => g.body === b));
  while (missing().length > 0) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`missing after ${ms} ms: ${missing().join(', ')}`);
    const m = added(await sub.next(left));
    if (m) got.push(m);
  }
  // Anything more that arrives soon would be a duplicate.
  await new Promise((r) => setTimeout(r, 1500));
  for (const r of sub.drain()) {
    const m = added(r);
    if (m) got.push(m);
  }
  return got;
}

/** Both regions' histories of the room, once they agree (or the last two when time runs out). */
async function converged(edge: EdgeProcess, token: string, roomId: string, expected: number) {
  const deadline = Date.now() + CROSS_REGION_MS;
  for (;;) {
    const at = (r: 'east' | 'west') => historyOf(`${edge.url}/graphql`, token, roomId, { 'x-meridian-region': r });
    const [e, w] = await Promise.all([at('east'), at('west')]);
    if ((e.length === expected && JSON.stringify(e) === JSON.stringify(w)) || Date.now() > deadline) return { e, w };
    await new Promise((r) => setTimeout(r, 500));
  }
}

for (const runtime of RUNTIMES) {
  describe(`chat across regions through the edge on ${runtime}`, () => {
    let edge: EdgeProcess;
    before(async () => {
      edge = await startEdge(runtime, chatEdgeEnv(world));
    });
    after(() => edge?.stop());

    it('two users in different regions chat both ways over WebSockets (graphql-ws from npm)', async () => {
      const alice = await world.token('alice', tenant);
      const bob = await world.token('bob', tenant);
      // Mutations through the edge go to the writer region (east); the room reaches west by replication.
      const roomId = await createRoom(`${edge.url}/graphql`, alice, `${runtime} both ways`, ['bob']);
      await waitForRoom(`${edge.url}/graphql`, bob, roomId, CROSS_REGION_MS, { 'x-meridian-region': 'west' });
      const idle = await idleSubscriptions();
      const aliceWs = liveClient(socketUrl(edge, 'east'), alice, { tokenInUrl: true });
      const bobWs = liveClient(socketUrl(edge, 'west'), bob, { tokenInUrl: true });
      try {
        const aliceInbox = live(aliceWs, { query: ADDED, variables: { r: roomId } });
        const bobInbox = live(bobWs, { query: ADDED, variables: { r: roomId } });
        await subscribed(idle, { east: 1, west: 1 });
        const fromAlice = ['east 1', 'east 2', 'east 3'].map((b) => `${runtime} ${b}`);
        const fromBob = ['west 1', 'west 2', 'west 3'].map((b) => `${runtime} ${b}`);
        for (let i = 0; i < 3; i++) {
          await sendOver(aliceWs, roomId, fromAlice[i] as string);
          await sendOver(bobWs, roomId, fromBob[i] as string);
        }
        const all = [...fromAlice, ...fromBob];
        const [atAlice, atBob] = await Promise.all([
          collect(aliceInbox, all, CROSS_REGION_MS),
          collect(bobInbox, all, CROSS_REGION_MS),
        ]);
        for (const [who, got] of [
          ['alice', atAlice],
          ['bob', atBob],
        ] as const) {
          assert.equal(new Set(got.map((m) => m.id)).size, got.length, `${who} got a duplicate`);
          assert.deepEqual(got.map((m) => m.body).sort(), [...all].sort(), `${who} got exactly the six messages`);
        }
        const westCopy = atAlice.find((m) => m.body === fromBob[0]);
        assert.deepEqual([westCopy?.author.id, westCopy?.region], ['bob', 'west'], "bob's message was sent in west");
        const { e, w } = await converged(edge, alice, roomId, 6);
        assert.deepEqual(e, w, 'both regions hold the same history in the same order');
        assert.deepEqual(e.map(([body]) => body).sort(), [...all].sort());
      } finally {
        await aliceWs.dispose();
        await bobWs.dispose();
      }
    });

    it('offers the same subscription over SSE (graphql-sse) through the edge', async () => {
      const alice = await world.token('alice', tenant);
      const bob = await world.token('bob', tenant);
      const roomId = await createRoom(`${edge.url}/graphql`, alice, `${runtime} sse`, ['bob']);
      await waitForRoom(`${edge.url}/graphql`, bob, roomId, CROSS_REGION_MS, { 'x-meridian-region': 'west' });
      const idle = await idleSubscriptions();
      const abort = new AbortController();
      const res = await fetch(`${edge.url}/v1/graphql/stream`, {
        method: 'POST',
        signal: abort.signal,
        headers: {
          accept: 'text/event-stream',
          'content-type': 'application/json',
          authorization: `Bearer ${bob}`,
          'x-meridian-region': 'west',
        },
        body: JSON.stringify({ query: ADDED, variables: { r: roomId } }),
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-meridian-region'), 'west');
      try {
        await subscribed(idle, { west: 1 });
        const sender = liveClient(socketUrl(edge, 'east'), alice, { tokenInUrl: true });
        await sendOver(sender, roomId, `${runtime} over sse`);
        await sender.dispose();
        const reader = (res.body as ReadableStream<Uint8Array>).getReader();
        const decoder = new TextDecoder();
        let text = '';
        const deadline = Date.now() + CROSS_REGION_MS;
        while (!/event: next\ndata: .*over sse/.test(text)) {
          assert.ok(Date.now() < deadline, `no next event in ${text}`);
          const { value, done } = await reader.read();
          assert.ok(!done, 'the stream ended');
          text += decoder.decode(value, { stream: true });
        }
        const data = JSON.parse(/event: next\ndata: (.*over sse.*)/.exec(text)?.[1] ?? '{}') as {
          data?: { messageAdded?: Added };
        };
        assert.deepEqual(
          [data.data?.messageAdded?.body, data.data?.messageAdded?.region],
          [`${runtime} over sse`, 'east'],
        );
      } finally {
        abort.abort();
      }
    });

    it('a forged or expired token cannot open a socket, and a token that expires closes it (3005)', async () => {
      const status = (url: string) =>
        new Promise<number>((resolve, reject) => {
          const ws = new WebSocket(url, 'graphql-transport-ws');
          ws.on('unexpected-response', (_req, res) => {
            resolve(res.statusCode ?? 0);
            ws.terminate();
          });
          ws.on('open', () => reject(new Error('opened')));
          ws.on('error', () => {});
        });
      const good = await world.token('alice', tenant);
      const [h, p, s] = good.split('.');
      const forged = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p as string, 'base64url').toString()), sub: 'root' })).toString('base64url')}.${s}`;
      assert.equal(await status(`${socketUrl(edge, 'east')}&access_token=${forged}`), 401);
      assert.equal(
        await status(`${socketUrl(edge, 'east')}&access_token=${await world.expiredToken('alice', tenant, 120)}`),
        401,
      );
      assert.equal(await status(socketUrl(edge, 'west')), 401, 'no token at all');

      const shortLived = await world.token('alice', tenant, 4);
      const roomId = await createRoom(`${edge.url}/graphql`, good, 'expiry', []);
      let closedWith: number | undefined;
      const client = liveClient(socketUrl(edge, 'east'), shortLived, {
        tokenInUrl: true,
        onClosed: (e) => {
          closedWith = (e as { code: number }).code;
        },
      });
      try {
        const sub = live(client, { query: ADDED, variables: { r: roomId } });
        const t0 = Date.now();
        await sub.ended;
        assert.equal(closedWith, 3005);
        assert.ok(Date.now() - t0 < 6000, 'closed when the token expired');
      } finally {
        await client.dispose();
      }
    });

    it('a member of another tenant, with the same user id, can neither follow nor post to the room', async () => {
      const alice = await world.token('alice', tenant);
      const roomId = await createRoom(`${edge.url}/graphql`, alice, 'private', ['bob']);
      const intruder = await world.token('bob', `${tenant}-other`);
      for (const region of ['east', 'west'] as const) {
        const client = liveClient(socketUrl(edge, region), intruder, { tokenInUrl: true });
        try {
          const sub = live(client, { query: ADDED, variables: { r: roomId } });
          assert.equal((await sub.next(10_000)).errors?.[0]?.extensions?.code, 'FORBIDDEN');
          const post = live(client, {
            query: SEND,
            variables: { i: { roomId, clientMessageId: `cm-${randomUUID()}`, body: 'x' } },
          });
          assert.equal((await post.next(10_000)).errors?.[0]?.extensions?.code, 'ROOM_NOT_FOUND');
        } finally {
          await client.dispose();
        }
        const read = await gqlAs<{ chatRoom: unknown }>(
          `${edge.url}/graphql`,
          intruder,
          'query($r: ID!) { chatRoom(id: $r) { id } }',
          { r: roomId },
          {
            'x-meridian-region': region,
          },
        );
        assert.equal(read.data?.chatRoom, null);
      }
    });
  });
}

describe('a slow client (edge on Deno)', () => {
  let edge: EdgeProcess;
  before(async () => {
    edge = await startEdge('deno', chatEdgeEnv(world, { MERIDIAN_EDGE_WS_MAX_BUFFERED_BYTES: String(256 * 1024) }));
  });
  after(() => edge?.stop());

  it('a client that stops reading is disconnected (3008) while another keeps its latency', async () => {
    const alice = await world.token('alice', tenant);
    const carol = await world.token('carol', tenant);
    const roomId = await createRoom(world.gatewayUrl('east'), alice, 'flood', ['carol']);
    const idle = await idleSubscriptions();
    const fastWs = liveClient(socketUrl(edge, 'east'), carol, { tokenInUrl: true });
    const slow = new WebSocket(`${socketUrl(edge, 'east')}&access_token=${carol}`, 'graphql-transport-ws');
    const slowClosed = new Promise<number>((resolve) => slow.on('close', (code) => resolve(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        slow.once('open', () => resolve());
        slow.once('error', reject);
      });
      const acked = new Promise<void>((resolve) => slow.once('message', () => resolve()));
      slow.send(JSON.stringify({ type: 'connection_init' }));
      await acked;
      slow.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: ADDED, variables: { r: roomId } } }));
      const inbox = live(fastWs, { query: ADDED, variables: { r: roomId } });
      await subscribed(idle, { east: 2 });
      // From now on the slow client reads nothing: the kernel buffers fill, then the edge's.
      (slow as unknown as { _socket: { pause(): void } })._socket.pause();

      const FLOOD = 600;
      const sentAt = new Map<string, number>();
      const latencies: number[] = [];
      const received = new Set<string>();
      const receiving = (async () => {
        while (received.size < sentAt.size || sentAt.size < FLOOD) {
          const m = added(await inbox.next(60_000));
          if (!m) continue;
          assert.ok(!received.has(m.body.slice(0, 12)), 'no duplicate');
          received.add(m.body.slice(0, 12));
          latencies.push(performance.now() - (sentAt.get(m.body.slice(0, 12)) ?? Number.NaN));
        }
      })();
      // 16 kB messages (4,000 four-byte characters): ~10 MB for a client that reads nothing.
      const pad = '\u{1F600}'.repeat(3980);
      let next = 0;
      await Promise.all(
        Array.from({ length: 6 }, async () => {
          while (next < FLOOD) {
            const tag = `m${String(next++).padStart(10, '0')} `;
            sentAt.set(tag.slice(0, 12), performance.now());
            const r = await gqlAs(world.gatewayUrl('east'), alice, SEND, {
              i: { roomId, clientMessageId: `cm-${randomUUID()}`, body: `${tag}${pad}` },
            });
            assert.equal(r.errors, undefined, JSON.stringify(r.errors));
          }
        }),
      );
      await receiving;
      (slow as unknown as { _socket: { resume(): void } })._socket.resume();
      assert.equal(await slowClosed, 3008, 'the slow client was cut off as slow');
      latencies.sort((a, b) => a - b);
      const p95 = latencies[Math.ceil(latencies.length * 0.95) - 1] as number;
      assert.equal(received.size, FLOOD);
      assert.ok(p95 < 2000, `the other client kept its latency: p95 ${p95.toFixed(0)} ms`);
      console.log(
        `slow-client flood: fast client p50 ${latencies[latencies.length >> 1]?.toFixed(0)} ms, p95 ${p95.toFixed(0)} ms`,
      );
    } finally {
      slow.terminate();
      await fastWs.dispose();
    }
  });
});

describe('chat through MirrorMaker 2 failures (edge on Deno)', () => {
  let edge: EdgeProcess;
  before(async () => {
    edge = await startEdge('deno', chatEdgeEnv(world));
  });
  after(async () => {
    await edge?.stop();
    // Whatever happened above, the shared stack gets its MirrorMaker 2 back.
    await ensureMirrorMaker();
  });

  it('MirrorMaker 2 SIGKILLed mid-conversation and restarted: everything delivered once, histories identical', async () => {
    const alice = await world.token('alice', tenant);
    const bob = await world.token('bob', tenant);
    const roomId = await createRoom(`${edge.url}/graphql`, alice, 'mm2 kill', ['bob']);
    await waitForRoom(`${edge.url}/graphql`, bob, roomId, CROSS_REGION_MS, { 'x-meridian-region': 'west' });
    const idle = await idleSubscriptions();
    const aliceWs = liveClient(socketUrl(edge, 'east'), alice, { tokenInUrl: true });
    const bobWs = liveClient(socketUrl(edge, 'west'), bob, { tokenInUrl: true });
    try {
      const aliceInbox = live(aliceWs, { query: ADDED, variables: { r: roomId } });
      const bobInbox = live(bobWs, { query: ADDED, variables: { r: roomId } });
      await subscribed(idle, { east: 1, west: 1 });
      const sent: string[] = [];
      const exchange = async (from: number, to: number) => {
        for (let i = from; i < to; i++) {
          const a = `alice ${i}`;
          const b = `bob ${i}`;
          await sendOver(aliceWs, roomId, a);
          await sendOver(bobWs, roomId, b);
          sent.push(a, b);
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      await exchange(0, 5);
      const pid = mirrorMakerPid();
      assert.ok(pid, 'MirrorMaker 2 runs');
      process.kill(pid, 'SIGKILL');
      await exchange(5, 15);
      // Each side sees its own region's messages at once, the other's only after the restart.
      await ensureMirrorMaker();
      assert.notEqual(mirrorMakerPid(), undefined);
      await exchange(15, 20);
      const [atAlice, atBob] = await Promise.all([
        collect(aliceInbox, sent, CROSS_REGION_MS * 2),
        collect(bobInbox, sent, CROSS_REGION_MS * 2),
      ]);
      for (const [who, got] of [
        ['alice', atAlice],
        ['bob', atBob],
      ] as const) {
        assert.equal(got.length, sent.length, `${who}: every message exactly once (${got.length} deliveries)`);
        assert.deepEqual(got.map((m) => m.body).sort(), [...sent].sort());
      }
      const { e, w } = await converged(edge, alice, roomId, sent.length);
      assert.equal(e.length, sent.length, 'no loss, no duplicate in east');
      assert.deepEqual(e, w, 'both regions hold the same history in the same order');
    } finally {
      await aliceWs.dispose();
      await bobWs.dispose();
    }
  });
});
