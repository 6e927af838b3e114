import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../infra/config/endpoints.ts';
import { regionConfig } from './config.ts';
import { east } from './east.ts';
import { west } from './west.ts';

describe('region config', () => {
  it('uses the documented ports by default', () => {
    const e = regionConfig(east, {});
    const w = regionConfig(west, {});
    assert.deepEqual([e.gatewayPort, e.hubPort, e.grpcPort], [41000, 41001, 41021]);
    assert.deepEqual([w.gatewayPort, w.hubPort, w.grpcPort], [42000, 42001, 42021]);
    assert.equal(e.peer, 'west');
    assert.equal(w.peer, 'east');
    assert.equal(e.production, false);
  });

  it('takes port overrides from the environment', () => {
    assert.equal(regionConfig(west, { MERIDIAN_WEST_GATEWAY_PORT: '9000' }).gatewayPort, 9000);
  });

  it("keeps the region's other settings by name for domain modules, and only its own region's", () => {
    const c = regionConfig(east, {
      MERIDIAN_EAST_COMMERCE_SUBGRAPH_PORT: '5000',
      MERIDIAN_WEST_COMMERCE_SUBGRAPH_PORT: '6000',
      MERIDIAN_EAST_EMPTY: '',
    });
    assert.deepEqual(c.settings, { COMMERCE_SUBGRAPH_PORT: '5000' });
  });

  it('DOMAIN_PORTS=any puts module ports not set one by one on free ports, for its own region only', () => {
    assert.equal(regionConfig(east, {}).anyFreeDomainPorts, false);
    assert.equal(regionConfig(east, { MERIDIAN_EAST_DOMAIN_PORTS: 'any' }).anyFreeDomainPorts, true);
    assert.equal(regionConfig(east, { MERIDIAN_WEST_DOMAIN_PORTS: 'any' }).anyFreeDomainPorts, false);
  });

  it('NODE_ENV=production is production mode', () => {
    assert.equal(regionConfig(east, { NODE_ENV: 'production' }).production, true);
    assert.equal(regionConfig(east, { NODE_ENV: 'development' }).production, false);
  });

  it('rejects a port that is not a port, naming the variable', () => {
    for (const bad of ['70000', '-1', '1e3', 'http']) {
      assert.throws(
        () => regionConfig(east, { MERIDIAN_EAST_HUB_PORT: bad }),
        (err: unknown) => err instanceof ConfigError && /MERIDIAN_EAST_HUB_PORT/.test(err.message),
        bad,
      );
    }
  });
});
