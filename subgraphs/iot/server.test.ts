/** The IoT subgraph's resolvers over in-memory ports: `User.devices` for the caller themself, in the caller's tenant. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { graphql } from 'graphql';
import {
  counterIds,
  fixedClock,
  memoryAccess,
  memoryRegistry,
  memoryWindows,
  plainMinter,
} from '../../domains/iot/testing.ts';
import type { Actor } from '../../domains/shared/actor.ts';
import { type IotContext, iotSchema } from './server.ts';

function subgraph() {
  const reg = memoryRegistry();
  const schema = iotSchema({
    registry: reg.registry,
    access: memoryAccess().access,
    minter: plainMinter,
    brokers: { brokers: () => [{ region: 'east', url: 'mqtt://east' }] },
    clock: fixedClock,
    ids: counterIds(),
    region: 'east',
    windows: memoryWindows(),
    orchestrator: {
      start: () => Promise.reject(new Error('not in this test')),
      get: async () => undefined,
      jobsOfDevice: async () => [],
    },
  });
  return async (source: string, actor?: Actor, variableValues: Record<string, unknown> = {}) => {
    const contextValue: IotContext = { actor };
    const r = await graphql({ schema, source, contextValue, variableValues });
    const codes = (r.errors ?? []).map(
      (e) => (e.originalError as { code?: string } | undefined)?.code ?? e.extensions?.code ?? e.message,
    );
    return { data: JSON.parse(JSON.stringify(r.data ?? null)) as Record<string, unknown> | null, codes };
  };
}

const as = (subject: string, tenant: string, scopes = ['devices:read', 'devices:write']): Actor => ({
  subject,
  tenant,
  scopes,
});

/** What the gateway sends for `User { devices }`: the entity by its key. */
const USER_DEVICES = `query($id: ID!) { _entities(representations: [{ __typename: "User", id: $id }]) {
  ... on User { id devices { id tenant } } } }`;

describe('iot subgraph: User.devices', () => {
  it('the caller’s own devices, in the caller’s tenant: the same user id in two tenants sees two fleets', async () => {
    const run = subgraph();
    const a = as('sam', 'ta');
    const b = as('sam', 'tb');
    for (const [actor, id] of [
      [a, 'a-1'],
      [a, 'a-2'],
      [b, 'b-1'],
    ] as const) {
      const r = await run(
        'mutation($id: ID!) { registerDevice(input: { id: $id, name: "D", model: "th-100", firmwareVersion: "1.0.0" }) { device { id } } }',
        actor,
        { id },
      );
      assert.deepEqual(r.codes, []);
    }
    const ofA = await run(USER_DEVICES, a, { id: 'sam' });
    assert.deepEqual(ofA.data?._entities, [
      {
        id: 'sam',
        devices: [
          { id: 'a-1', tenant: 'ta' },
          { id: 'a-2', tenant: 'ta' },
        ],
      },
    ]);
    const ofB = await run(USER_DEVICES, b, { id: 'sam' });
    assert.deepEqual(ofB.data?._entities, [{ id: 'sam', devices: [{ id: 'b-1', tenant: 'tb' }] }]);
  });

  it('anyone else sees none; no caller or no devices:read gets a clear error', async () => {
    const run = subgraph();
    const a = as('sam', 'ta');
    await run(
      'mutation { registerDevice(input: { id: "a-1", name: "D", model: "th-100", firmwareVersion: "1.0.0" }) { device { id } } }',
      a,
    );
    const other = await run(USER_DEVICES, as('kim', 'ta'), { id: 'sam' });
    assert.deepEqual(other.data?._entities, [{ id: 'sam', devices: [] }]);
    assert.deepEqual((await run(USER_DEVICES, undefined, { id: 'sam' })).codes, ['UNAUTHENTICATED']);
    assert.deepEqual((await run(USER_DEVICES, as('sam', 'ta', []), { id: 'sam' })).codes, ['FORBIDDEN']);
    const paged = await run(
      'query { _entities(representations: [{ __typename: "User", id: "sam" }]) { ... on User { devices(first: 0) { id } } } }',
      a,
    );
    assert.deepEqual(paged.codes, ['BAD_USER_INPUT']);
  });
});
