/**
 * Chat across two real regions for end-to-end tests and the chat benchmark: east and west each
 * on a database of their own (regions/host/testing.ts isolatedRegion), both trusting one dev
 * issuer, with the real Kafka and MirrorMaker 2 between them; plus helpers to talk to them
 * (GraphQL over HTTP, tokens, waiting for replication) and to drive MirrorMaker 2 through the
 * stack's own command line.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { importJWK, type JWK, SignJWT } from 'jose';
import { pidFile, REPO_ROOT } from '../../infra/stack/paths.ts';
import { chatModule } from '../../regions/chat/module.ts';
import { east } from '../../regions/east.ts';
import type { DomainModule } from '../../regions/host/domain-module.ts';
import type { HubSettingsOverrides } from '../../regions/host/hub-settings.ts';
import { type IsolatedRegion, isolatedRegion } from '../../regions/host/testing.ts';
import { createDevIssuer } from '../../regions/identity/dev-issuer.ts';
import { type Identity, identityFromEnv } from '../../regions/identity/identity.ts';
import { west } from '../../regions/west.ts';

/** Two chat regions and the issuer both trust. */
export interface ChatWorld {
  readonly identity: Identity;
  readonly east: IsolatedRegion;
  readonly west: IsolatedRegion;
  /** A token for `sub` in `tenant`, valid for `ttlSeconds` (an hour by default). */
  token(sub: string, tenant: string, ttlSeconds?: number): Promise<string>;
  /** A token that expired `agoSeconds` ago, signed with the trusted key (tokens must be refused). */
  expiredToken(sub: string, tenant: string, agoSeconds: number): Promise<string>;
  gatewayUrl(region: 'east' | 'west'): string;
  stop(): Promise<void>;
}

/** Starts east and west with the chat domain only, each on its own scratch database. */
export async function startChatWorld(opts: { hub?: HubSettingsOverrides; log?: (line: string) => void } = {}) {
  const keyFile = path.join(mkdtempSync(path.join(tmpdir(), 'meridian-chat-e2e-')), 'dev-issuer.jwk.json');
  const identity = identityFromEnv({}, { keyFile, gatewayUrl: 'http://127.0.0.1' });
  await identity.issuer?.jwks(); // creates the key file the short-lived issuers share
  const modules = [chatModule as DomainModule<unknown>];
  const [e, w] = await Promise.all([
    isolatedRegion(east, modules, { identity, hub: opts.hub, log: opts.log }),
    isolatedRegion(west, modules, { identity, hub: opts.hub, log: opts.log }),
  ]);
  const issuers = new Map<number, ReturnType<typeof createDevIssuer>>();
  const world: ChatWorld = {
    identity,
    east: e,
    west: w,
    async token(sub, tenant, ttlSeconds = 3600) {
      let issuer = issuers.get(ttlSeconds);
      if (!issuer) {
        issuer = createDevIssuer({ keyFile, ttlSeconds });
        issuers.set(ttlSeconds, issuer);
      }
      return (await issuer.issue({ sub, tenant, scopes: [] })).access_token;
    },
    async expiredToken(sub, tenant, agoSeconds) {
      const jwk = JSON.parse(readFileSync(keyFile, 'utf8')) as JWK & { kid: string };
      const key = await importJWK(jwk, 'ES256');
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ tenant, scopes: [] })
        .setProtectedHeader({ alg: 'ES256', kid: jwk.kid, typ: 'JWT' })
        .setIssuer('meridian-dev')
        .setAudience('meridian')
        .setSubject(sub)
        .setIssuedAt(now - agoSeconds - 60)
        .setExpirationTime(now - agoSeconds)
        .sign(key);
    },
    gatewayUrl: (region) => `http://127.0.0.1:${(region === 'east' ? e : w).region.gatewayPort}/graphql`,
    async stop() {
      await Promise.allSettled([e.stop(), w.stop()]);
    },
  };
  return world;
}

/** The edge's environment in front of the two chat regions. */
export function chatEdgeEnv(world: ChatWorld, extra: Record<string, string> = {}): Record<string, string> {
  const e = world.east.region;
  const w = world.west.region;
  return {
    MERIDIAN_EDGE_EAST_GATEWAY_URL: `http://127.0.0.1:${e.gatewayPort}`,
    MERIDIAN_EDGE_EAST_HUB_URL: `http://127.0.0.1:${e.hubPort}`,
    MERIDIAN_EDGE_WEST_GATEWAY_URL: `http://127.0.0.1:${w.gatewayPort}`,
    MERIDIAN_EDGE_WEST_HUB_URL: `http://127.0.0.1:${w.hubPort}`,
    MERIDIAN_JWKS_URL: `http://127.0.0.1:${e.gatewayPort}/.well-known/jwks.json`,
    MERIDIAN_EDGE_HEALTH_INTERVAL_MS: '500',
    MERIDIAN_EDGE_ANONYMOUS_LIMIT_CAPACITY: '1000000',
    MERIDIAN_EDGE_ANONYMOUS_LIMIT_REFILL_PER_SECOND: '1000000',
    MERIDIAN_EDGE_CLIENT_LIMIT_CAPACITY: '1000000',
    MERIDIAN_EDGE_CLIENT_LIMIT_REFILL_PER_SECOND: '1000000',
    MERIDIAN_EDGE_TENANT_LIMIT_CAPACITY: '1000000',
    MERIDIAN_EDGE_TENANT_LIMIT_REFILL_PER_SECOND: '1000000',
    ...extra,
  };
}

/** A GraphQL answer. */
export interface Answer<T> {
  readonly status: number;
  readonly data?: T;
  readonly errors?: ReadonlyArray<{ message: string; extensions?: { code?: string } }>;
}

/** POSTs an operation with a bearer token (and any headers, e.g. x-meridian-region). */
export async function gqlAs<T = Record<string, unknown>>(
  url: string,
  token: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<Answer<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, ...((await res.json()) as Omit<Answer<T>, 'status'>) };
}

/** Creates a room (in the region behind `url`) and returns its id. */
export async function createRoom(
  url: string,
  token: string,
  name: string,
  members: readonly string[],
): Promise<string> {
  const r = await gqlAs<{ createChatRoom: { id: string } }>(
    url,
    token,
    'mutation($i: CreateChatRoomInput!) { createChatRoom(input: $i) { id } }',
    { i: { name, members } },
  );
  assert.ok(r.data, JSON.stringify(r.errors));
  return r.data.createChatRoom.id;
}

/** Waits until the region behind `url` shows the room to `token`'s user (replication reached it). */
export async function waitForRoom(url: string, token: string, roomId: string, timeoutMs = 90_000, headers = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await gqlAs<{ chatRoom: { id: string } | null }>(
      url,
      token,
      'query($r: ID!) { chatRoom(id: $r) { id } }',
      { r: roomId },
      headers,
    );
    if (r.data?.chatRoom) return;
    if (Date.now() > deadline)
      throw new Error(`room ${roomId} did not reach ${url} in ${timeoutMs} ms: ${JSON.stringify(r)}`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

/** A room's whole history as one region holds it: [body, cursor] oldest first. */
export async function historyOf(
  url: string,
  token: string,
  roomId: string,
  headers = {},
): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  let after: string | undefined;
  for (;;) {
    const r = await gqlAs<{
      chatRoom: { messages: { hasMore: boolean; messages: Array<{ body: string; cursor: string }> } };
    }>(
      url,
      token,
      'query($r: ID!, $a: String) { chatRoom(id: $r) { messages(first: 100, after: $a) { hasMore messages { body cursor } } } }',
      { r: roomId, ...(after ? { a: after } : {}) },
      headers,
    );
    const page = r.data?.chatRoom.messages;
    assert.ok(page, JSON.stringify(r.errors));
    for (const m of page.messages) out.push([m.body, m.cursor]);
    if (!page.hasMore || page.messages.length === 0) return out;
    after = page.messages.at(-1)?.cursor;
  }
}

/** Runs the stack's command line (`node infra/stack/cli.ts …`), resolving with its output and exit code. */
export function stackCli(
  args: readonly string[],
  timeoutMs = 180_000,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', 'infra/stack/cli.ts', ...args], {
      cwd: REPO_ROOT,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** The MirrorMaker 2 process the stack runs (from its pid file), or undefined when it does not run. */
export function mirrorMakerPid(): number | undefined {
  try {
    const { pid } = JSON.parse(readFileSync(pidFile('mirrormaker'), 'utf8')) as { pid: number };
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** Brings MirrorMaker 2 up with the stack's own command (`up mirrormaker`); throws with its output when that fails. */
export async function ensureMirrorMaker(): Promise<void> {
  const r = await stackCli(['up', 'mirrormaker']);
  if (r.code !== 0) throw new Error(`stack up mirrormaker failed (${r.code}):\n${r.output}`);
}
