/**
 * A region for social's end-to-end tests and benchmark, on a PostgreSQL database of its own.
 *
 * Why its own database: the stack is shared, and every relay of every process on a region's
 * database publishes the one outbox, lane by lane; a relay built from a branch that lacks some
 * event type's schema stops at that type's first row and holds the whole lane behind it (it never
 * skips an event). A test region that writes into the shared outbox can so stall other people's
 * relays, and theirs can stall its own. On a database of its own, only this region's relay sees
 * its outbox. For the same reason it joins only the social feed projector's consumer group: the
 * other region-wide groups (commerce's payment processor) have members on the shared database.
 */
import pg from 'pg';
import { USER_EVENTS } from '../../domains/social/events.ts';
import { uniqueName } from '../../infra/adapters/testing.ts';
import { resolveEndpoints } from '../../infra/config/endpoints.ts';
import { withMirrored } from '../../infra/events/consumer.ts';
import type { RegionProfile } from '../../regions/config.ts';
import { DOMAINS } from '../../regions/domains.ts';
import { type RunningRegion, startRegion } from '../../regions/host/region-host.ts';
import { testRegionConfig } from '../../regions/host/testing.ts';
import type { Identity } from '../../regions/identity/identity.ts';

/** The social feed projector's service name (what `processors` selects). */
export const FEED_PROJECTOR = 'social.feed-projector';

export interface RegionDatabase {
  /** Its connection URL. */
  readonly url: string;
  /** `MERIDIAN_<REGION>_POSTGRES_URL` pointing at it, for a region's environment. */
  readonly env: Record<string, string>;
  /** Drops it (connections still open are ended). */
  drop(): Promise<void>;
}

/** Creates an empty database on `region`'s PostgreSQL server (a region migrates it when it starts). */
export async function regionDatabase(region: RegionProfile['region'], purpose: string): Promise<RegionDatabase> {
  const serverUrl = resolveEndpoints(region, process.env).postgresUrl;
  const name = uniqueName(`${purpose}_test`, '_');
  const server = async (sql: string) => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await server(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    env: { [`MERIDIAN_${region.toUpperCase()}_POSTGRES_URL`]: url.toString() },
    drop: () => server(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/** Starts `profile` on `db` with every domain, joining only the groups named in `processors`. */
export function startSocialRegion(
  profile: RegionProfile,
  identity: Identity,
  db: RegionDatabase,
  opts: { readonly env?: Record<string, string>; readonly processors?: readonly string[] } = {},
): Promise<RunningRegion> {
  const env = { ...process.env, ...db.env, ...opts.env };
  return startRegion(testRegionConfig(profile, env), {
    identity,
    domains: DOMAINS,
    processors: opts.processors ?? [FEED_PROJECTOR],
  });
}

/**
 * Waits until the region's feed projector group has consumed every social event there is now
 * (local and mirrored): the shared stack's topics may hold a backlog from earlier runs that a
 * test's own events would otherwise queue behind.
 */
export async function projectorCaughtUp(region: RunningRegion, timeoutMs = 180_000): Promise<void> {
  const groupId = `social-feed-projector-${region.config.region}`;
  const admin = await region.deps.kafka.admin();
  const topics = withMirrored(USER_EVENTS, region.config.peer);
  const target = new Map<string, number>();
  for (const topic of topics) {
    for (const p of await admin.fetchTopicOffsets(topic)) target.set(`${topic}/${p.partition}`, Number(p.high));
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const committed = await admin.fetchOffsets({ groupId, topics });
    // A partition never consumed has offset -1: behind only if it holds something.
    const behind = committed.flatMap((t) =>
      t.partitions.filter((p) => {
        const end = target.get(`${t.topic}/${p.partition}`) ?? 0;
        return end > 0 && Number(p.offset) < end;
      }),
    );
    if (behind.length === 0) return;
    if (Date.now() > deadline) throw new Error(`${groupId} still behind on ${behind.length} partitions`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
