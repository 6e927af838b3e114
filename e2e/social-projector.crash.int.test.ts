/**
 * The west feed projector killed mid-stream (SIGKILL) and restarted: nothing missing, nothing
 * doubled. East takes the writes; west runs with MERIDIAN_WEST_SOCIAL_FEED_PROJECTOR=external
 * and the projector runs as its own process (regions/social/projector-main.ts), so the kill is a
 * real crash: no graceful stop, no last offset commit, whatever it was doing cut off. (Stopping
 * the module's processor service instead would commit on the way out: a gentler failure.) The
 * process uses a consumer group of this test's own, its offsets set to the topics' ends before
 * it starts, so it sees exactly this test's events and shares its partitions with no one.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { USER_EVENTS } from '../domains/social/events.ts';
import { withMirrored } from '../infra/events/consumer.ts';
import { REPO_ROOT } from '../infra/stack/paths.ts';
import { east } from '../regions/east.ts';
import type { RunningRegion } from '../regions/host/region-host.ts';
import { testIdentity } from '../regions/host/testing.ts';
import type { Identity } from '../regions/identity/identity.ts';
import { socialModule } from '../regions/social/module.ts';
import { west } from '../regions/west.ts';
import { commitGroupOffsets, endOffsets } from './support/group-offsets.ts';
import { socialClient, until } from './support/social-client.ts';
import { type RegionDatabase, regionDatabase, startSocialRegion } from './support/social-region.ts';

const POSTS = 150;
const FOLLOWERS = 20;
const tenant = `k-${randomUUID().slice(0, 8)}`;
const group = `social-feed-projector-west-crash-${randomUUID().slice(0, 8)}`;
let databases: RegionDatabase[] = [];
let identity: Identity;
let eastRegion: RunningRegion;
let westRegion: RunningRegion;
let projector: ChildProcess | undefined;
/** Everything the projector processes printed (shown when the test fails). */
let projectorOutput = '';

/** Starts the projector process; resolves once it consumes. */
async function startProjector(): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--disable-warning=TimeoutNegativeWarning', 'regions/social/projector-main.ts', 'west'],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, ...databases[1]?.env, MERIDIAN_SOCIAL_PROJECTOR_GROUP: group },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (c: Buffer) => {
    projectorOutput += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    projectorOutput += c.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`projector not ready in 60 s:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.once('exit', (code) => reject(new Error(`projector exited (${code}):\n${output}`)));
  });
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

before(async () => {
  identity = testIdentity();
  databases = await Promise.all([regionDatabase('east', 'social_crash'), regionDatabase('west', 'social_crash')]);
  [eastRegion, westRegion] = await Promise.all([
    startSocialRegion(east, identity, databases[0] as RegionDatabase),
    startSocialRegion(west, identity, databases[1] as RegionDatabase, {
      env: { MERIDIAN_WEST_SOCIAL_FEED_PROJECTOR: 'external' },
    }),
  ]);
  // The group starts where the topics end now (every partition committed, so a restart resumes
  // from the last commit and never skips to the end).
  const kafka = westRegion.deps.kafka;
  await commitGroupOffsets(kafka, group, await endOffsets(kafka, withMirrored(USER_EVENTS, 'east')));
});
after(async () => {
  if (projector) await kill(projector);
  // Before the regions stop: their Kafka client closes with them.
  const admin = await westRegion?.deps.kafka.admin().catch(() => undefined);
  await admin?.deleteGroups([group]).catch(() => {});
  await Promise.all([eastRegion?.stop(), westRegion?.stop()]);
  await Promise.all(databases.map((d) => d.drop()));
});

describe('west feed projector crash', () => {
  it('killed mid-stream and restarted: every follower’s west feed has every post exactly once, each announced once', async () => {
    assert.equal(westRegion.domain(socialModule).settings.projectorExternal, true);
    projector = await startProjector();
    const token = async (sub: string) =>
      (await identity.issuer?.issue({ sub, tenant, scopes: [] }))?.access_token as string;
    const eastUrl = `http://127.0.0.1:${eastRegion.gatewayPort}/graphql`;
    const ann = socialClient(eastUrl, await token('ann'));
    await ann.setProfile('Ann');
    const fans = Array.from({ length: FOLLOWERS }, (_, i) => `fan${i}`);
    for (const f of fans) {
      const c = socialClient(eastUrl, await token(f));
      await c.setProfile(f);
      await c.follow('ann');
    }
    const westStore = westRegion.domain(socialModule).store;
    const westFeeds = westRegion.domain(socialModule).feeds;
    await until(async () => (await westStore.countFollowers(tenant, 'ann')) === FOLLOWERS, 30_000).catch((err) => {
      console.log(`# projector output:\n${projectorOutput}`);
      throw err;
    });
    const feedOf = async (user: string) => (await westFeeds.page(tenant, user, 500)).map((e) => e.id);

    // The stream: POSTS posts from east, four at a time, while the projector is killed and restarted.
    const posted: string[] = [];
    let next = 0;
    const writer = async () => {
      while (next < POSTS) {
        const n = next++;
        posted.push((await ann.post(`post ${n}`)).id);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const stream = Promise.all([writer(), writer(), writer(), writer()]);
    let atKill = -1;
    try {
      await until(async () => (await feedOf('fan0')).length >= 30, 30_000);
      await kill(projector);
      atKill = (await feedOf('fan0')).length;
      assert.ok(atKill < POSTS, `killed mid-stream (${atKill} of ${POSTS} projected)`);
      await new Promise((r) => setTimeout(r, 1500));
      const whileDown = (await feedOf('fan0')).length;
      assert.ok(whileDown - atKill <= 1, `nothing projects while it is down (${atKill} → ${whileDown})`);
      projector = await startProjector();
      await stream;
      await until(async () => (await feedOf('fan0')).length === POSTS, 60_000);
    } catch (err) {
      console.log(`# projector output:\n${projectorOutput}`);
      throw err;
    } finally {
      next = POSTS; // stop the writers whatever happened, before the regions stop
      await stream.catch(() => {});
    }

    const expected = [...posted].sort();
    for (const user of ['ann', ...fans]) {
      const ids = await feedOf(user);
      assert.equal(new Set(ids).size, ids.length, `${user}: no entry twice`);
      assert.deepEqual([...ids].sort(), expected, `${user}: every post`);
    }
    const { rows } = await westRegion.deps.postgres.pool.query<{ reason: string; subject: string; n: number }>(
      `SELECT envelope->'data'->>'reason' AS reason, aggregate_id AS subject, count(*)::int AS n FROM outbox
        WHERE topic = 'social.feed.updated.v1' AND envelope->>'tenant' = $1 GROUP BY 1, 2`,
      [tenant],
    );
    const announced = (reason: string) => rows.filter((r) => r.reason === reason);
    assert.deepEqual(
      announced('post')
        .map((r) => r.subject)
        .sort(),
      expected,
      'each post announced in west',
    );
    assert.deepEqual(
      announced('follow')
        .map((r) => r.subject)
        .sort(),
      [...fans].sort(),
      'each follow announced',
    );
    assert.deepEqual(
      rows.filter((r) => r.n !== 1),
      [],
      'each announced once',
    );
    console.log(
      `# projector killed after ${atKill} of ${POSTS} posts; after restart every feed has all ${POSTS}, none twice`,
    );
  });
});
