/** Integration: a region host against the real local stack. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { hostname } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { createKafka, type KafkaDependency } from '../../infra/adapters/kafka.ts';
import { uniqueName } from '../../infra/adapters/testing.ts';
import { resolveEndpoints } from '../../infra/config/endpoints.ts';
import { assignedTopics } from '../../infra/events/consumer-lag.ts';
import { DOMAINS } from '../domains.ts';
import { east } from '../east.ts';
import { type RunningRegion, startRegion } from './region-host.ts';
import { testIdentity, testRegionConfig } from './testing.ts';

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface ReadyBody {
  status: string;
  region: string;
  dependencies: Record<string, { ok: boolean; version?: string; error?: string }>;
  services: Record<string, { ok: boolean; state: string; detail?: string }>;
}

describe('region host (east, real dependencies)', () => {
  let region: RunningRegion;
  let base: string;
  before(async () => {
    region = await startRegion(testRegionConfig(east), { identity: testIdentity(), domains: [] });
    base = `http://127.0.0.1:${region.gatewayPort}`;
  });
  after(() => region.stop());

  it('/health answers while the process runs and names the region', async () => {
    const res = await fetch(`${base}/health`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-meridian-region'), 'east');
    const body = (await res.json()) as { status: string; region: string };
    assert.deepEqual([body.status, body.region], ['ok', 'east']);
  });

  it('/ready round-trips every dependency and reports its version', async () => {
    const res = await fetch(`${base}/ready`);
    const body = (await res.json()) as ReadyBody;
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.status, 'ready');
    assert.deepEqual(Object.keys(body.dependencies).sort(), [
      'amqp',
      'document-locks',
      'kafka',
      'mongo',
      'mqtt',
      'postgres',
      'redis',
    ]);
    assert.ok(
      Object.values(body.services).every((s) => s.ok && s.state === 'running'),
      JSON.stringify(body.services),
    );
    assert.ok('hub-http' in body.services && 'gateway-http' in body.services);
    assert.match(body.dependencies.postgres?.version ?? '', /^\d+\.\d+/);
    assert.match(body.dependencies.mongo?.version ?? '', /FerretDB v1\./);
    assert.match(body.dependencies.mqtt?.version ?? '', /mosquitto/);
  });

  it('unknown routes get RFC 9457 problem+json', async () => {
    const res = await fetch(`${base}/nope`);
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    const body = (await res.json()) as { status: number; title: string };
    assert.deepEqual([body.status, body.title], [404, 'Not Found']);
  });
});

describe('region host with a dependency down', () => {
  it('/ready is 503 and names the dependency that is down', async () => {
    const port = await closedPort();
    const config = testRegionConfig(east, { MERIDIAN_EAST_REDIS_URL: `redis://127.0.0.1:${port}` });
    const region = await startRegion(config, { identity: testIdentity(), domains: [] });
    try {
      const res = await fetch(`http://127.0.0.1:${region.gatewayPort}/ready`);
      const body = (await res.json()) as ReadyBody;
      assert.equal(res.status, 503);
      assert.equal(body.status, 'not-ready');
      assert.equal(body.dependencies.redis?.ok, false);
      assert.ok(body.dependencies.redis?.error);
      assert.equal(body.dependencies.postgres?.ok, true);
      const health = await fetch(`http://127.0.0.1:${region.gatewayPort}/health`);
      assert.equal(health.status, 200, 'liveness does not depend on dependencies');
    } finally {
      await region.stop();
    }
  });
});

describe('region host with every domain', () => {
  const endpoints = resolveEndpoints('east', process.env);
  let kafka: KafkaDependency;
  before(() => {
    kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: uniqueName('region-host-test') });
  });
  after(() => kafka.close());

  const mine = async () =>
    (await (await kafka.admin()).listGroups()).groups
      .map((g) => g.groupId)
      .filter((id) => id.includes(`-${hostname()}-${process.pid}-`));

  it('per-process live feeds commit nothing and leave no consumer group behind, however often it restarts', async () => {
    assert.deepEqual(await mine(), []);
    for (let round = 0; round < 2; round++) {
      const region = await startRegion(testRegionConfig(east), { identity: testIdentity(), domains: DOMAINS });
      try {
        const live = await mine();
        const admin = await kafka.admin();
        // One feed per domain that owns what it reads, each asking only for that domain's topics.
        const { groups } = await admin.describeGroups(live);
        const feeds = groups.filter((g) => g.groupId.startsWith('live-east-'));
        assert.ok(feeds.length > 1, 'a live feed per domain');
        for (const group of feeds) {
          const owner = DOMAINS.find((d) => group.groupId.startsWith(`live-east-${d.name}-`));
          assert.ok(owner, `${group.groupId} is a domain's live feed`);
          const topics = [...(assignedTopics(group) ?? [])];
          assert.ok(topics.length > 0, `${owner.name}'s live feed is assigned its topics`);
          assert.deepEqual(
            topics.filter((t) => !owner.events.includes(t.replace(/^west\./, ''))),
            [],
            `${owner.name}'s live feed reads only its own events, local and mirrored`,
          );
        }
        for (const groupId of live) {
          const offsets = await admin.fetchOffsets({ groupId });
          const committed = offsets.flatMap((t) => t.partitions).filter((p) => p.offset !== '-1');
          assert.deepEqual(committed, [], `${groupId} commits no offsets, so the broker drops it if the process dies`);
        }
        const ready = (await (await fetch(`http://127.0.0.1:${region.gatewayPort}/ready`)).json()) as ReadyBody;
        assert.ok('outbox-relay' in ready.services, 'a host runs the relay unless told not to');
      } finally {
        await region.stop();
      }
      assert.deepEqual(await mine(), [], `round ${round}: the groups went with the process`);
    }
  });

  it('relay: false runs no outbox relay in the process', async () => {
    const region = await startRegion(testRegionConfig(east), {
      identity: testIdentity(),
      domains: DOMAINS,
      relay: false,
    });
    try {
      assert.ok(!region.services.names().includes('outbox-relay'));
      const ready = (await (await fetch(`http://127.0.0.1:${region.gatewayPort}/ready`)).json()) as ReadyBody;
      assert.equal(ready.status, 'ready');
      assert.ok(!('outbox-relay' in ready.services));
    } finally {
      await region.stop();
    }
  });

  it('processors: a list joins only the named region-wide consumer groups; the live feeds run unless turned off', async () => {
    const region = await startRegion(testRegionConfig(east), {
      identity: testIdentity(),
      domains: DOMAINS,
      processors: [],
    });
    try {
      const consuming = region.services.names().filter((name) => region.consumer(name) !== undefined);
      assert.ok(consuming.length > 1, consuming.join(', '));
      assert.deepEqual(
        consuming.filter((name) => !DOMAINS.some((d) => name === `${d.name}.live-feed`)),
        [],
        'only the live feeds, one per domain',
      );
    } finally {
      await region.stop();
    }
    const graphOnly = await startRegion(testRegionConfig(east), {
      identity: testIdentity(),
      domains: DOMAINS,
      processors: false,
      liveFeeds: false,
    });
    try {
      assert.deepEqual(
        graphOnly.services.names().filter((name) => graphOnly.consumer(name) !== undefined),
        [],
        'no consumer at all',
      );
      assert.ok(graphOnly.services.names().includes('gateway'), 'the graph is served');
    } finally {
      await graphOnly.stop();
    }
  });
});
