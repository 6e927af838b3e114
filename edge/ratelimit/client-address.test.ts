import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientAddressKey } from './client-address.ts';

describe('clientAddressKey', () => {
  it('keeps IPv4 addresses as they are', () => {
    assert.equal(clientAddressKey('203.0.113.7'), '203.0.113.7');
    assert.equal(clientAddressKey(' 10.0.0.1 '), '10.0.0.1');
  });

  it('groups IPv6 by /64', () => {
    assert.equal(clientAddressKey('2001:db8:abcd:12:1:2:3:4'), '2001:db8:abcd:12::/64');
    assert.equal(clientAddressKey('2001:DB8:ABCD:12::99'), '2001:db8:abcd:12::/64');
    assert.equal(clientAddressKey('[2001:db8::1]'), '2001:db8:0:0::/64');
    assert.equal(clientAddressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(clientAddressKey('::1'), '0:0:0:0::/64');
    assert.equal(clientAddressKey('64:ff9b::192.0.2.33'), '64:ff9b:0:0::/64');
  });

  it('unwraps IPv4-mapped IPv6', () => {
    assert.equal(clientAddressKey('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(clientAddressKey('::ffff:c000:201'), '192.0.2.1');
  });

  it('anything unparsable shares one "unknown" bucket', () => {
    for (const bad of [
      undefined,
      '',
      'localhost',
      '1.2.3',
      '256.1.1.1',
      '1::2::3',
      '12345::',
      'a:b:c:d:e:f:0:1:2',
      ':::',
    ]) {
      assert.equal(clientAddressKey(bad), 'unknown', String(bad));
    }
  });
});
