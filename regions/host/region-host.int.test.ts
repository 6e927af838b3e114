/** Integration: a region host against the real local stack. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
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
    assert.deepEqual(Object.keys(body.dependencies).sort(), ['amqp', 'kafka', 'mongo', 'mqtt', 'postgres', 'redis']);
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
