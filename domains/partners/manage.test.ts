import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rejectsWith } from '../shared/testing.ts';
import { fanOut } from './deliver.ts';
import {
  authenticatePartner,
  createEndpoint,
  disablePartner,
  listEndpoints,
  type ManageDeps,
  type PartnerDeps,
  registerPartner,
  replayMessages,
  resendMessage,
  rotateSecret,
  setEndpointEnabled,
  updateEndpoint,
} from './manage.ts';
import type { PasswordHasher } from './ports.ts';
import {
  countingSecrets,
  hostGuard,
  manager,
  manualClock,
  memoryPartners,
  memoryQueue,
  memoryStores,
} from './testing.ts';

const TYPE = 'shop.order.created.v1';
const OTHER = 'shop.order.cancelled.v1';

function setup() {
  const stores = memoryStores();
  const queue = memoryQueue();
  const clock = manualClock();
  const deps: ManageDeps = {
    endpoints: stores.endpointStore,
    deliveries: stores.deliveryStore,
    queue,
    guard: hostGuard(['169.254.169.254', 'localhost']),
    secrets: countingSecrets(),
    clock,
    offered: new Set([TYPE, OTHER]),
    rotationOverlapMs: 60_000,
  };
  return { deps, stores, queue, clock };
}

describe('managing webhook endpoints', () => {
  it('create returns the whsec_ secret once, stores the endpoint enabled in the caller tenant', async () => {
    const { deps, stores } = setup();
    const { endpoint, secret } = await createEndpoint(deps, manager('t1'), {
      url: 'https://hooks.example.com/a',
      eventTypes: [TYPE],
      description: 'orders',
    });
    assert.match(secret, /^whsec_/);
    assert.equal(endpoint.secret, secret);
    assert.deepEqual([endpoint.tenant, endpoint.status, endpoint.eventTypes], ['t1', 'ENABLED', [TYPE]]);
    assert.equal(stores.endpoints.size, 1);
  });

  it('needs a token with partners:manage; refuses an internal URL and stores nothing', async () => {
    const { deps, stores } = setup();
    const input = { url: 'https://hooks.example.com/a', eventTypes: [TYPE] };
    await assert.rejects(createEndpoint(deps, undefined, input), rejectsWith('UNAUTHENTICATED'));
    await assert.rejects(
      createEndpoint(deps, { subject: 'u', tenant: 't1', scopes: ['orders:write'] }, input),
      rejectsWith('FORBIDDEN'),
    );
    await assert.rejects(
      createEndpoint(deps, manager('t1'), { ...input, url: 'http://169.254.169.254/latest/meta-data' }),
      rejectsWith('URL_NOT_ALLOWED'),
    );
    await assert.rejects(
      updateEndpoint(deps, manager('t1'), `ep_${'0'.repeat(32)}`, { url: 'http://localhost/' }),
      rejectsWith('NOT_FOUND'),
    );
    assert.equal(stores.endpoints.size, 0);
  });

  it('the same user in two tenants sees and changes only its own tenant’s endpoints', async () => {
    const { deps } = setup();
    const a = await createEndpoint(deps, manager('t1', 'same-user'), { url: 'https://a.example/', eventTypes: [TYPE] });
    await createEndpoint(deps, manager('t2', 'same-user'), { url: 'https://a.example/', eventTypes: [TYPE] });
    assert.deepEqual(
      (await listEndpoints(deps, manager('t2', 'same-user'))).map((e) => e.tenant),
      ['t2'],
    );
    for (const call of [
      () => setEndpointEnabled(deps, manager('t2', 'same-user'), a.endpoint.id, false),
      () => rotateSecret(deps, manager('t2', 'same-user'), a.endpoint.id),
      () => updateEndpoint(deps, manager('t2', 'same-user'), a.endpoint.id, { eventTypes: [OTHER] }),
    ]) {
      await assert.rejects(call(), rejectsWith('NOT_FOUND', { id: a.endpoint.id }));
    }
  });

  it('disabling writes partners.endpoint.disabled.v1 (MANUAL); enabling again writes nothing', async () => {
    const { deps, stores } = setup();
    const { endpoint } = await createEndpoint(deps, manager('t1'), { url: 'https://a.example/', eventTypes: [TYPE] });
    const off = await setEndpointEnabled(deps, manager('t1'), endpoint.id, false);
    assert.deepEqual([off.status, off.disabledReason, off.version], ['DISABLED', 'MANUAL', 2]);
    assert.deepEqual(
      stores.outbox.map((e) => [e.type, e.subject, e.tenant, (e.data as { reason: string }).reason]),
      [['partners.endpoint.disabled.v1', endpoint.id, 't1', 'MANUAL']],
    );
    assert.equal(await setEndpointEnabled(deps, manager('t1'), endpoint.id, false), off, 'no change, no event');
    const on = await setEndpointEnabled(deps, manager('t1'), endpoint.id, true);
    assert.equal(on.status, 'ENABLED');
    assert.equal(stores.outbox.length, 1);
  });

  it('rotation returns a new secret and keeps the old one signing for the overlap', async () => {
    const { deps, clock } = setup();
    const { endpoint, secret } = await createEndpoint(deps, manager('t1'), {
      url: 'https://a.example/',
      eventTypes: [TYPE],
    });
    const r = await rotateSecret(deps, manager('t1'), endpoint.id);
    assert.notEqual(r.secret, secret);
    assert.equal(r.endpoint.previousSecret?.secret, secret);
    assert.equal(Date.parse(r.endpoint.previousSecret?.expiresAt ?? '') - Date.parse(clock.now()), 60_000);
  });

  it('update checks a new URL and event types like create', async () => {
    const { deps } = setup();
    const { endpoint } = await createEndpoint(deps, manager('t1'), { url: 'https://a.example/', eventTypes: [TYPE] });
    await assert.rejects(
      updateEndpoint(deps, manager('t1'), endpoint.id, { url: 'http://localhost:5432/' }),
      rejectsWith('URL_NOT_ALLOWED'),
    );
    await assert.rejects(
      updateEndpoint(deps, manager('t1'), endpoint.id, { eventTypes: ['nope.x.y.v1'] }),
      rejectsWith('BAD_USER_INPUT'),
    );
    const next = await updateEndpoint(deps, manager('t1'), endpoint.id, { eventTypes: [OTHER], description: 'x' });
    assert.deepEqual([next.eventTypes, next.description, next.version], [[OTHER], 'x', 2]);
  });
});

describe('resend and replay', () => {
  async function withMessages(times: string[]) {
    const s = setup();
    const { endpoint } = await createEndpoint(s.deps, manager('t1'), { url: 'https://a.example/', eventTypes: [TYPE] });
    // Messages of another tenant at the same times must never be replayed to t1.
    for (const [i, time] of times.entries()) {
      for (const tenant of ['t1', 't2']) {
        await fanOut(s.deps, {
          id: `00000000-0000-4000-8000-${String(i).padStart(11, '0')}${tenant === 't1' ? '1' : '2'}`,
          type: TYPE,
          tenant,
          time,
          data: { i },
        });
      }
    }
    s.queue.take();
    return { ...s, endpoint };
  }

  it('replay queues exactly the messages of [since, until) of the tenant, a new round each', async () => {
    const times = ['2030-01-01T00:00:01.000Z', '2030-01-01T00:00:02.000Z', '2030-01-01T00:00:03.000Z'];
    const { deps, queue, endpoint } = await withMessages(times);
    const count = await replayMessages(deps, manager('t1'), endpoint.id, {
      since: '2030-01-01T00:00:02.000Z',
      until: '2030-01-01T00:00:03.000Z',
    });
    assert.equal(count, 1);
    assert.deepEqual(
      queue.tasks.map((t) => [t.messageId, t.round, t.attempt]),
      [[`msg_00000000000040008000000000000011`, 2, 1]],
    );
  });

  it('replay refuses an empty, reversed or overlong range and a disabled endpoint', async () => {
    const { deps, endpoint } = await withMessages([]);
    for (const range of [
      { since: 'yesterday', until: '2030-01-02T00:00:00Z' },
      { since: '2030-01-02T00:00:00Z', until: '2030-01-02T00:00:00Z' },
      { since: '2030-01-01T00:00:00Z', until: '2030-03-01T00:00:00Z' },
    ]) {
      await assert.rejects(replayMessages(deps, manager('t1'), endpoint.id, range), rejectsWith('BAD_USER_INPUT'));
    }
    await setEndpointEnabled(deps, manager('t1'), endpoint.id, false);
    await assert.rejects(
      replayMessages(deps, manager('t1'), endpoint.id, {
        since: '2030-01-01T00:00:00Z',
        until: '2030-01-02T00:00:00Z',
      }),
      rejectsWith('BAD_USER_INPUT', { field: 'endpointId' }),
    );
  });

  it('resend starts the next round of one message; another tenant’s message is not found', async () => {
    const { deps, queue, endpoint } = await withMessages(['2030-01-01T00:00:01.000Z']);
    const task = await resendMessage(deps, manager('t1'), endpoint.id, 'msg_00000000000040008000000000000001');
    assert.deepEqual([task.round, task.attempt], [2, 1]);
    assert.equal(queue.tasks.length, 1);
    await assert.rejects(
      resendMessage(deps, manager('t1'), endpoint.id, 'msg_00000000000040008000000000000002'),
      rejectsWith('NOT_FOUND'),
    );
  });
});

describe('legacy partners', () => {
  const hasher: PasswordHasher = {
    hash: async (pw) => `h:${pw}`,
    verify: async (pw, hash) => hash === `h:${pw}`,
  };
  function partnerDeps(provisionFails = false) {
    const partners = memoryPartners();
    const broker = {
      provisioned: [] as string[],
      revoked: [] as string[],
      async provision(p: { id: string }) {
        if (provisionFails) throw new Error('broker down');
        this.provisioned.push(p.id);
      },
      async revoke(id: string) {
        this.revoked.push(id);
      },
    };
    const deps: PartnerDeps = { partners, broker, hasher, secrets: countingSecrets(), clock: manualClock() };
    return { deps, partners, broker };
  }

  it('registration provisions the broker account and returns the password once; login checks it', async () => {
    const { deps, broker } = partnerDeps();
    const { partner, password } = await registerPartner(deps, manager('t1'), {
      name: ' Acme Logistics ',
      ratePerSecond: 20,
    });
    assert.deepEqual([partner.name, partner.ratePerSecond, partner.status], ['Acme Logistics', 20, 'ACTIVE']);
    assert.deepEqual(broker.provisioned, [partner.id]);
    assert.equal((await authenticatePartner(deps, partner.id, password)).id, partner.id);
    await assert.rejects(authenticatePartner(deps, partner.id, 'wrong'), rejectsWith('UNAUTHENTICATED'));
    await assert.rejects(authenticatePartner(deps, 'lp_unknown', password), rejectsWith('UNAUTHENTICATED'));
  });

  it('a broker failure stores nothing; bad input is refused before anything', async () => {
    const { deps, partners } = partnerDeps(true);
    await assert.rejects(registerPartner(deps, manager('t1'), { name: 'x' }), /broker down/);
    await assert.rejects(
      registerPartner(deps, manager('t1'), { name: '' }),
      rejectsWith('BAD_USER_INPUT', { field: 'name' }),
    );
    await assert.rejects(
      registerPartner(deps, manager('t1'), { name: 'x', ratePerSecond: 0 }),
      rejectsWith('BAD_USER_INPUT', { field: 'ratePerSecond' }),
    );
    assert.equal(partners.byId.size, 0);
  });

  it('disabling revokes the account; the partner can no longer log in; another tenant cannot disable it', async () => {
    const { deps, broker } = partnerDeps();
    const { partner, password } = await registerPartner(deps, manager('t1'), { name: 'Acme' });
    await assert.rejects(disablePartner(deps, manager('t2'), partner.id), rejectsWith('NOT_FOUND'));
    assert.equal((await disablePartner(deps, manager('t1'), partner.id)).status, 'DISABLED');
    assert.deepEqual(broker.revoked, [partner.id]);
    await assert.rejects(authenticatePartner(deps, partner.id, password), rejectsWith('UNAUTHENTICATED'));
  });
});
