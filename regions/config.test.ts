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
    assert.deepEqual([e.gatewayPort, e.hubPort, e.soapPort], [41000, 41001, 41080]);
    assert.deepEqual([w.gatewayPort, w.hubPort, w.soapPort], [42000, 42001, 42080]);
    assert.equal(e.peer, 'west');
    assert.equal(w.peer, 'east');
  });

  it('takes port overrides from the environment', () => {
    assert.equal(regionConfig(west, { MERIDIAN_WEST_GATEWAY_PORT: '9000' }).gatewayPort, 9000);
  });

  it('rejects a port that is not a port, naming the variable', () => {
    assert.throws(
      () => regionConfig(east, { MERIDIAN_EAST_HUB_PORT: '70000' }),
      (err: unknown) => err instanceof ConfigError && /MERIDIAN_EAST_HUB_PORT/.test(err.message),
    );
  });
});
