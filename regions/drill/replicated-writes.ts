/**
 * The drill's multi-writer traffic besides orders: chat messages and posts. Any region takes
 * them (through the edge, which sends writes to the writer region), and each region copies the
 * other's from the mirrored events. Before the traffic: every client has a social profile and
 * is a member of one room, both visible in both regions. After the drill: every message and post
 * a client was told was taken exists in both regions, asked of each region's gateway directly.
 */
import type { Region } from '../../infra/config/endpoints.ts';
import { type InvariantResult, sample } from './invariants.ts';
import type { AcknowledgedWrite } from './traffic.ts';
import { until } from './until.ts';

type Gateways = Record<Region, string>;

interface GraphQLAnswer<T> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

async function ask<T>(gatewayUrl: string, token: string, query: string, variables: unknown = {}): Promise<T> {
  const res = await fetch(`${gatewayUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json()) as GraphQLAnswer<T>;
  if (!res.ok || body.errors?.length || !body.data)
    throw new Error(`${gatewayUrl}: ${res.status} ${JSON.stringify(body.errors ?? body).slice(0, 300)}`);
  return body.data;
}

/**
 * Gives each client (one user each) a social profile in both regions and makes one
 * room of them all in `home`; resolves with the room once both regions know it.
 */
export async function prepareReplicatedWrites(
  gateways: Gateways,
  home: Region,
  clients: readonly { readonly token: string; readonly userId: string }[],
) {
  const tokens = clients.map((c) => c.token);
  for (const region of ['east', 'west'] as const) {
    for (const [i, token] of tokens.entries()) {
      await ask(gateways[region], token, 'mutation P($i: SetProfileInput!) { setProfile(input: $i) { id } }', {
        i: { displayName: `drill user ${i + 1}` },
      });
    }
  }
  const created = await ask<{ createChatRoom: { id: string } }>(
    gateways[home],
    tokens[0] as string,
    'mutation R($i: CreateChatRoomInput!) { createChatRoom(input: $i) { id } }',
    { i: { name: 'drill room', members: clients.slice(1).map((c) => c.userId) } },
  );
  const roomId = created.createChatRoom.id;
  for (const region of ['east', 'west'] as const) {
    await until(
      `the drill room in ${region}`,
      async () => {
        const d = await ask<{ chatRoom: { memberCount: number } | null }>(
          gateways[region],
          tokens[tokens.length - 1] as string,
          'query R($id: ID!) { chatRoom(id: $id) { memberCount } }',
          { id: roomId },
        );
        return d.chatRoom?.memberCount === tokens.length ? true : undefined;
      },
      60_000,
      250,
    );
  }
  return { roomId };
}

/** Every message id of a room in a region, oldest first (paged). */
async function roomMessages(gatewayUrl: string, token: string, roomId: string): Promise<Set<string>> {
  const ids = new Set<string>();
  let after: string | undefined;
  for (;;) {
    const d = await ask<{
      chatRoom: { messages: { messages: Array<{ id: string; cursor: string }>; hasMore: boolean } } | null;
    }>(
      gatewayUrl,
      token,
      'query M($id: ID!, $after: String) { chatRoom(id: $id) { messages(first: 100, after: $after) { messages { id cursor } hasMore } } }',
      { id: roomId, after },
    );
    const page = d.chatRoom?.messages;
    if (!page) throw new Error(`room ${roomId} unknown at ${gatewayUrl}`);
    for (const m of page.messages) ids.add(m.id);
    if (!page.hasMore || page.messages.length === 0) return ids;
    after = page.messages[page.messages.length - 1]?.cursor;
  }
}

/** Which of `ids` a region's gateway knows as posts (asked 50 at a time). */
async function knownPosts(gatewayUrl: string, token: string, ids: readonly string[]): Promise<Set<string>> {
  const known = new Set<string>();
  for (let i = 0; i < ids.length; i += 50) {
    const chunk = ids.slice(i, i + 50);
    const query = `query P(${chunk.map((_, n) => `$p${n}: ID!`).join(', ')}) { ${chunk
      .map((_, n) => `p${n}: post(id: $p${n}) { id }`)
      .join(' ')} }`;
    const d = await ask<Record<string, { id: string } | null>>(
      gatewayUrl,
      token,
      query,
      Object.fromEntries(chunk.map((id, n) => [`p${n}`, id])),
    );
    for (const p of Object.values(d)) if (p) known.add(p.id);
  }
  return known;
}

/**
 * Every acknowledged message and post in both regions. Replication is asynchronous, so each
 * region gets `timeoutMs` to show them all before what is still missing is reported.
 */
export async function checkReplicatedWrites(input: {
  readonly gateways: Gateways;
  readonly roomId: string;
  readonly token: string;
  readonly messages: readonly AcknowledgedWrite[];
  readonly posts: readonly AcknowledgedWrite[];
  readonly timeoutMs: number;
}): Promise<InvariantResult[]> {
  const { gateways, roomId, token, messages, posts } = input;
  /** The invariant "every acknowledged <kind> exists in both regions", asking `known` of each. */
  const inBoth = async (
    kind: string,
    written: readonly AcknowledgedWrite[],
    known: (region: Region) => Promise<Set<string>>,
  ): Promise<InvariantResult> => {
    const gone: string[] = [];
    for (const region of ['east', 'west'] as const) {
      let absent: string[] = written.map((w) => w.id);
      await until(
        `every acknowledged ${kind} in ${region}`,
        async () => {
          const have = await known(region);
          absent = written.filter((w) => !have.has(w.id)).map((w) => w.id);
          return absent.length === 0 ? true : undefined;
        },
        input.timeoutMs,
        250,
      ).catch(() => {});
      gone.push(...absent.map((id) => `${id} in ${region}`));
    }
    return {
      name: `every acknowledged ${kind} exists in both regions`,
      ok: gone.length === 0,
      detail: gone.length === 0 ? `${written.length} acknowledged, all in east and west` : `missing: ${sample(gone)}`,
    };
  };
  const ids = posts.map((p) => p.id);
  return [
    await inBoth('chat message', messages, (r) => roomMessages(gateways[r], token, roomId)),
    await inBoth('post', posts, (r) => knownPosts(gateways[r], token, ids)),
  ];
}
