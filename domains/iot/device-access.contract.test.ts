/**
 * The DeviceAccess contract (ports.ts), run by the memory adapter (unit) and the dynamic-security
 * adapter on both regions' real brokers (integration). Each test uses devices of its own.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { DeviceAccess } from './ports.ts';
import { deviceGrants } from './topics.ts';

export interface DeviceAccessFixture {
  readonly access: DeviceAccess;
  /** Whether `mqttId` may log in with `password` (on every broker the adapter manages). */
  login(mqttId: string, password: string): Promise<boolean>;
}

const fresh = () => `t-access.dev-${randomUUID().slice(0, 8)}`;

export function deviceAccessContract(name: string, make: () => DeviceAccessFixture): void {
  describe(`DeviceAccess contract (${name})`, () => {
    it('a granted device logs in with its password only', async () => {
      const f = make();
      const d = fresh();
      await f.access.grant(d, 'secret-1', deviceGrants(d));
      try {
        assert.equal(await f.login(d, 'secret-1'), true);
        assert.equal(await f.login(d, 'wrong'), false);
        assert.equal(await f.login(fresh(), 'secret-1'), false);
      } finally {
        await f.access.revoke(d);
      }
    });

    it('a new password replaces the old one', async () => {
      const f = make();
      const d = fresh();
      await f.access.grant(d, 'secret-1', deviceGrants(d));
      try {
        await f.access.setPassword(d, 'secret-2');
        assert.equal(await f.login(d, 'secret-1'), false);
        assert.equal(await f.login(d, 'secret-2'), true);
      } finally {
        await f.access.revoke(d);
      }
    });

    it('a revoked device cannot log in; revoking twice is harmless; a grant after it starts afresh', async () => {
      const f = make();
      const d = fresh();
      await f.access.grant(d, 'secret-1', deviceGrants(d));
      await f.access.revoke(d);
      await f.access.revoke(d);
      assert.equal(await f.login(d, 'secret-1'), false);
      await f.access.grant(d, 'secret-3', deviceGrants(d));
      assert.equal(await f.login(d, 'secret-3'), true);
      await f.access.revoke(d);
    });
  });
}
