import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rejectsWith } from '../../domains/shared/testing.ts';
import { addressPolicy, parseAllowList } from './address-policy.ts';

describe('webhook address policy (SSRF)', () => {
  const policy = addressPolicy();

  it('refuses loopback, private, link-local, CGNAT, multicast, reserved and documentation addresses', () => {
    for (const address of [
      '127.0.0.1',
      '127.255.255.254',
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '198.18.0.1',
      '192.0.2.1',
      '::1',
      '::',
      'fe80::1',
      'fc00::1',
      'fd12:3456::1',
      'ff02::1',
      '2001:db8::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:10.0.0.1',
      '64:ff9b::a9fe:a9fe',
      '2002:7f00:1::1',
    ]) {
      assert.equal(policy.allows(address), false, address);
    }
  });

  it('allows public unicast addresses, v4 and v6', () => {
    for (const address of ['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) {
      assert.equal(policy.allows(address), true, address);
    }
  });

  it('an explicit allow-list lets chosen internal ranges through, and only those', () => {
    const local = addressPolicy({ allow: parseAllowList('127.0.0.1/32, ::1') });
    assert.equal(local.allows('127.0.0.1'), true);
    assert.equal(local.allows('::1'), true);
    assert.equal(local.allows('127.0.0.2'), false);
    assert.equal(local.allows('10.0.0.1'), false);
    assert.deepEqual(parseAllowList(''), []);
    assert.throws(() => parseAllowList('localhost'), /not an address/);
    assert.throws(() => parseAllowList('10.0.0.0/33'), /not an address/);
  });

  it('a host is refused when any of its addresses is internal (a mixed DNS answer)', async () => {
    const mixed = addressPolicy({
      resolver: async () => [
        { address: '93.184.216.34', family: 4 },
        { address: '10.0.0.5', family: 4 },
      ],
    });
    await assert.rejects(
      mixed.resolve('hooks.example.com'),
      rejectsWith('URL_NOT_ALLOWED', { field: 'url', host: 'hooks.example.com', address: '10.0.0.5' }),
    );
    const fine = addressPolicy({ resolver: async () => [{ address: '93.184.216.34', family: 4 }] });
    assert.deepEqual(await fine.resolve('hooks.example.com'), [{ address: '93.184.216.34', family: 4 }]);
    await assert.rejects(policy.resolve('[::1]'), rejectsWith('URL_NOT_ALLOWED'));
  });

  it('the connect-time lookup answers only allowed addresses, in both callback shapes', async () => {
    let answer = [{ address: '93.184.216.34', family: 4 }];
    const p = addressPolicy({ resolver: async () => answer });
    const one = await new Promise((resolve, reject) =>
      p.lookup('h.example', {}, (err, address, family) => (err ? reject(err) : resolve([address, family]))),
    );
    assert.deepEqual(one, ['93.184.216.34', 4]);
    answer = [{ address: '127.0.0.1', family: 4 }]; // DNS changed since registration
    await assert.rejects(
      new Promise((resolve, reject) =>
        p.lookup('h.example', { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
      ),
      rejectsWith('URL_NOT_ALLOWED'),
    );
  });
});
