import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SendResult } from './attempt.ts';
import { type AttemptDeps, attemptDelivery, fanOut } from './deliver.ts';
import { createEndpoint, type ManageDeps } from './manage.ts';
import type { DeliveryTask } from './message.ts';
import { parseSchedule } from './retry.ts';
import {
  countingSecrets,
  down,
  hostGuard,
  manager,
  manualClock,
  memoryQueue,
  memoryStores,
  ok,
  scriptedSender,
} from './testing.ts';

const TYPE = 'shop.order.created.v1';
const EVENT_ID = '11111111-2222-4333-8444-555555555555';

async function setup(answers: SendResult[], opts: { disableAfterMs?: number } = {}) {
  const stores = memoryStores();
  const queue = memoryQueue();
  const clock = manualClock();
  const manage: ManageDeps = {
    endpoints: stores.endpointStore,
    deliveries: stores.deliveryStore,
    queue,
    guard: hostGuard(),
    secrets: countingSecrets(),
    clock,
    offered: new Set([TYPE]),
    rotationOverlapMs: 60_000,
  };
  const { endpoint } = await createEndpoint(manage, manager('t1'), { url: 'https://a.example/', eventTypes: [TYPE] });
  const sender = scriptedSender(answers);
  const deps: AttemptDeps = {
    deliveries: stores.deliveryStore,
    queue,
    sender,
    clock,
    schedule: parseSchedule('0,200ms,400ms'),
    disableAfterMs: opts.disableAfterMs ?? 86_400_000,
    random: () => 0.5,
  };
  const event = { id: EVENT_ID, type: TYPE, tenant: 't1', time: clock.now(), data: { orderId: 'o1' } };
  return { stores, queue, clock, manage, deps, sender, endpoint, event };
}

/** Runs queued tasks until none is left; returns each result. */
async function drain(deps: AttemptDeps, queue: ReturnType<typeof memoryQueue>) {
  const results: string[] = [];
  for (let task = queue.take(); task.length > 0; task = queue.take()) {
    for (const t of task) results.push(await attemptDelivery(deps, t));
  }
  return results;
}

describe('fan-out', () => {
  it('one message per tenant event; deliveries only to enabled subscribed endpoints of that tenant', async () => {
    const s = await setup([ok()]);
    // The same URL in another tenant must not receive t1's event.
    await createEndpoint(s.manage, manager('t2'), { url: 'https://a.example/', eventTypes: [TYPE] });
    assert.equal(await fanOut(s.manage, s.event), 1);
    assert.deepEqual(
      s.queue.tasks.map((t) => [t.endpointId, t.round, t.attempt]),
      [[s.endpoint.id, 1, 1]],
    );
    const message = [...s.stores.messages.values()][0];
    assert.deepEqual(JSON.parse(message?.payload ?? ''), {
      type: TYPE,
      timestamp: s.event.time,
      data: { orderId: 'o1' },
    });
    assert.equal(message?.id, 'msg_11111111222243338444555555555555');
  });

  it('the same event again queues its still-unattempted deliveries again, and stores nothing twice', async () => {
    const s = await setup([ok()]);
    await fanOut(s.manage, s.event);
    await fanOut(s.manage, s.event);
    assert.equal(s.stores.messages.size, 1);
    assert.equal(s.stores.deliveries.size, 1);
    assert.equal(s.queue.tasks.length, 2, 'queued again: the first fan-out may have died before queueing');
    assert.deepEqual(await drain(s.deps, s.queue), ['delivered', 'stale']);
    assert.equal(s.sender.sent.length, 1);
  });

  it('a tenant without endpoints stores nothing; an endpoint created after the event gets nothing', async () => {
    const s = await setup([ok()]);
    assert.equal(await fanOut(s.manage, { ...s.event, tenant: 't9' }), 0);
    assert.equal(await fanOut(s.manage, { ...s.event, time: '2029-12-31T23:59:59.000Z' }), 0);
    assert.equal(s.stores.deliveries.size, 0);
  });
});

describe('attempts', () => {
  it('signs with every current secret; success delivers and clears the failing stretch', async () => {
    const s = await setup([down(), ok(204)]);
    await fanOut(s.manage, s.event);
    assert.deepEqual(await drain(s.deps, s.queue), ['retrying', 'delivered']);
    const sent = s.sender.sent[1];
    assert.deepEqual(
      [sent?.url, sent?.messageId, sent?.secrets],
      [s.endpoint.url, 'msg_11111111222243338444555555555555', [s.endpoint.secret]],
    );
    const [d] = s.stores.deliveries.values();
    assert.deepEqual([d?.status, d?.attempts, d?.lastStatusCode], ['DELIVERED', 2, 204]);
    assert.equal(s.stores.endpoints.get(s.endpoint.id)?.failingSince, undefined);
    assert.deepEqual(
      s.stores.attempts.map((a) => [a.attempt, a.success, a.statusCode, a.error]),
      [
        [1, false, undefined, 'connect ECONNREFUSED'],
        [2, true, 204, undefined],
      ],
    );
  });

  it('after the last attempt the message is FAILED, kept, with partners.delivery.exhausted.v1', async () => {
    const s = await setup([{ kind: 'response', status: 500, body: 'oops', latencyMs: 2 }]);
    await fanOut(s.manage, s.event);
    assert.deepEqual(await drain(s.deps, s.queue), ['retrying', 'retrying', 'failed']);
    const [d] = s.stores.deliveries.values();
    assert.deepEqual([d?.status, d?.attempts], ['FAILED', 3]);
    assert.equal(s.stores.attempts[0]?.responseBody, 'oops');
    assert.deepEqual(
      s.stores.outbox.map((e) => [e.type, (e.data as { attempts: number }).attempts]),
      [['partners.delivery.exhausted.v1', 3]],
    );
    assert.equal(s.stores.endpoints.get(s.endpoint.id)?.status, 'ENABLED', 'one failed message is no long stretch');
  });

  it('410 Gone disables the endpoint at once (reason GONE, with an event) and sends nothing more', async () => {
    const s = await setup([ok(410)]);
    await fanOut(s.manage, s.event);
    await fanOut(s.manage, { ...s.event, id: '11111111-2222-4333-8444-666666666666' });
    assert.deepEqual(await drain(s.deps, s.queue), ['failed', 'failed']);
    assert.equal(s.sender.sent.length, 1, 'the second message is not sent to a disabled endpoint');
    const e = s.stores.endpoints.get(s.endpoint.id);
    assert.deepEqual([e?.status, e?.disabledReason], ['DISABLED', 'GONE']);
    assert.deepEqual(
      s.stores.outbox.map((x) => [x.type, (x.data as { reason: string }).reason]),
      [['partners.endpoint.disabled.v1', 'GONE']],
    );
  });

  it('failing for longer than the limit disables the endpoint (FAILING) with the stretch start', async () => {
    const s = await setup([down()], { disableAfterMs: 300 });
    await fanOut(s.manage, s.event);
    const first = s.queue.take();
    assert.equal(await attemptDelivery(s.deps, first[0] as DeliveryTask), 'retrying');
    const since = s.stores.endpoints.get(s.endpoint.id)?.failingSince;
    s.clock.advance(200);
    assert.equal(await attemptDelivery(s.deps, s.queue.take()[0] as DeliveryTask), 'retrying');
    assert.equal(s.stores.endpoints.get(s.endpoint.id)?.status, 'ENABLED');
    s.clock.advance(200);
    assert.equal(await attemptDelivery(s.deps, s.queue.take()[0] as DeliveryTask), 'failed');
    const e = s.stores.endpoints.get(s.endpoint.id);
    assert.deepEqual([e?.status, e?.disabledReason], ['DISABLED', 'FAILING']);
    const disabledEvent = s.stores.outbox.find((x) => x.type === 'partners.endpoint.disabled.v1');
    assert.deepEqual((disabledEvent?.data as { failingSince?: string } | undefined)?.failingSince, since);
  });

  it('a task seen again after its attempt was recorded re-queues the next attempt, nothing is sent twice', async () => {
    const s = await setup([down(), ok()]);
    await fanOut(s.manage, s.event);
    const [task] = s.queue.take();
    assert.equal(await attemptDelivery(s.deps, task as DeliveryTask), 'retrying');
    s.queue.take(); // the worker died before its follow-up reached the broker
    assert.equal(await attemptDelivery(s.deps, task as DeliveryTask), 'resumed');
    const [next] = s.queue.take();
    assert.deepEqual([next?.attempt, next?.round], [2, 1]);
    assert.equal(await attemptDelivery(s.deps, next as DeliveryTask), 'delivered');
    assert.equal(await attemptDelivery(s.deps, next as DeliveryTask), 'stale');
    assert.equal(s.sender.sent.length, 2);
  });

  it('an older round’s task is stale once a resend started a new round', async () => {
    const s = await setup([ok()]);
    await fanOut(s.manage, s.event);
    const [old] = s.queue.take();
    await s.stores.deliveryStore.resend('t1', s.endpoint.id, 'msg_11111111222243338444555555555555', s.clock.now());
    assert.equal(await attemptDelivery(s.deps, old as DeliveryTask), 'stale');
    assert.equal(s.sender.sent.length, 0);
  });
});
