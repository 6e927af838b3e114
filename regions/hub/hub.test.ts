import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHub, type Delivery, type HubMessage, type Subscription } from './hub.ts';

const msg = (id: string, data: unknown = { id }): HubMessage => ({ id, event: 'test', data });

/** Takes exactly n deliveries that are already due (fails instead of hanging if fewer arrive). */
async function take(sub: Subscription, n: number): Promise<Delivery[]> {
  const out: Delivery[] = [];
  for (let i = 0; i < n; i += 1) {
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`got ${out.length}/${n}`)), 500),
    );
    const r = await Promise.race([sub.next(), timeout]);
    if (r.done) throw new Error(`subscription ended after ${out.length}/${n}`);
    out.push(r.value);
  }
  return out;
}

const ids = (ds: Delivery[]) => ds.map((d) => d.id);

describe('hub', () => {
  it('delivers published messages to subscribers of that topic only', async () => {
    const hub = createHub();
    const a = hub.subscribe(['a']);
    const b = hub.subscribe(['b']);
    hub.publish('a', msg('1', { n: 1 }));
    hub.publish('b', msg('2'));
    const [d] = await take(a, 1);
    assert.deepEqual({ ...d }, { topic: 'a', seq: 1, id: '1', event: 'test', data: { n: 1 } });
    assert.deepEqual(ids(await take(b, 1)), ['2']);
    assert.equal(a.pending, 0);
  });

  it('a waiting consumer is woken by a publish (for await)', async () => {
    const hub = createHub();
    const sub = hub.subscribe(['a']);
    const got: string[] = [];
    const consumer = (async () => {
      for await (const d of sub) {
        got.push(d.id);
        if (got.length === 2) break; // break calls return(), which closes the subscription
      }
    })();
    await new Promise((r) => setTimeout(r, 5));
    hub.publish('a', msg('x'));
    hub.publish('a', msg('y'));
    await consumer;
    assert.deepEqual(got, ['x', 'y']);
    assert.equal(sub.closeReason, 'closed');
    assert.equal(hub.stats().subscriptions, 0);
  });

  it('keeps publish order across the topics of one subscription', async () => {
    const hub = createHub();
    const sub = hub.subscribe(['a', 'b', 'c']);
    const order = ['a', 'b', 'a', 'c', 'b', 'a'].map((topic, i) => {
      hub.publish(topic, msg(`m${i}`));
      return `m${i}`;
    });
    hub.publish('other', msg('not-mine'));
    assert.deepEqual(ids(await take(sub, 6)), order);
    assert.equal(sub.pending, 0);
  });

  it('replays the buffered messages after lastEventId, merged in publish order, then goes live', async () => {
    const hub = createHub();
    hub.publish('a', msg('a1'));
    hub.publish('b', msg('b1'));
    hub.publish('a', msg('a2'));
    hub.publish('c', msg('c1'));
    hub.publish('b', msg('b2'));
    const sub = hub.subscribe(['a', 'b'], 'b1');
    assert.equal(sub.reset, false);
    hub.publish('a', msg('a3'));
    assert.deepEqual(ids(await take(sub, 3)), ['a2', 'b2', 'a3']);
  });

  it('a lastEventId that is the newest message replays nothing and is not a reset', async () => {
    const hub = createHub();
    hub.publish('a', msg('a1'));
    const sub = hub.subscribe(['a'], 'a1');
    assert.equal(sub.reset, false);
    assert.equal(sub.pending, 0);
  });

  it('an unknown lastEventId replays nothing and signals reset', async () => {
    const hub = createHub();
    hub.publish('a', msg('a1'));
    const sub = hub.subscribe(['a'], 'never-published');
    assert.equal(sub.reset, true);
    assert.equal(sub.pending, 0);
    hub.publish('a', msg('a2'));
    assert.deepEqual(ids(await take(sub, 1)), ['a2'], 'a reset subscription still follows live');
  });

  it('a resume point older than the history window resets instead of replaying with a gap', () => {
    const hub = createHub({ historyPerTopic: 3 });
    for (let i = 1; i <= 3; i += 1) hub.publish('a', msg(`a${i}`));
    hub.publish('b', msg('b1')); // b1 is still in b's history, so the id is known...
    hub.publish('a', msg('a4'));
    hub.publish('a', msg('a5')); // ...but a4 and a5 pushed a1, a2 out of a's history
    const fine = hub.subscribe(['a'], 'a3');
    assert.deepEqual([fine.reset, fine.pending], [false, 2]);
    const gap = hub.subscribe(['a'], 'a1');
    assert.equal(gap.reset, true, 'a1 is gone: unknown');
    const gapViaOtherTopic = hub.subscribe(['a', 'b'], 'b1');
    assert.equal(gapViaOtherTopic.reset, false, 'nothing after b1 was evicted');
    hub.publish('a', msg('a6')); // evicts a3 (seq 3) < b1 (seq 4): still nothing after b1 lost
    assert.equal(hub.subscribe(['a', 'b'], 'b1').reset, false);
    hub.publish('a', msg('a7')); // evicts a4, published after b1
    assert.equal(hub.subscribe(['a', 'b'], 'b1').reset, true);
  });

  it('forgets the least recently published topics beyond topicLimit, and resumes there reset', () => {
    const hub = createHub({ topicLimit: 2 });
    hub.publish('a', msg('a1'));
    hub.publish('b', msg('b1'));
    hub.publish('a', msg('a2'));
    hub.publish('c', msg('c1')); // b is the least recently published: dropped
    assert.equal(hub.stats().topics, 2);
    assert.equal(hub.subscribe(['b'], 'b1').reset, true);
    assert.equal(hub.subscribe(['b'], 'a1').reset, true, 'b may have lost messages after a1');
    assert.deepEqual(hub.subscribe(['a'], 'a1').pending, 1);
  });

  it('drops a republished id within the history window (Kafka redelivery)', async () => {
    const hub = createHub();
    const sub = hub.subscribe(['a']);
    assert.equal(hub.publish('a', msg('e1')), true);
    assert.equal(hub.publish('a', msg('e1')), false);
    assert.equal(hub.publish('a', msg('e2')), true);
    assert.deepEqual(ids(await take(sub, 2)), ['e1', 'e2']);
  });

  it('one event on two topics resumes after its newest copy', async () => {
    const hub = createHub();
    hub.publish('order.1', msg('e1'));
    hub.publish('user.u.orders', msg('e1'));
    hub.publish('order.1', msg('e2'));
    const sub = hub.subscribe(['order.1', 'user.u.orders'], 'e1');
    assert.deepEqual(ids(await take(sub, 1)), ['e2']);
  });

  it('disconnects a client that falls more than clientBufferLimit behind', async () => {
    const hub = createHub({ clientBufferLimit: 3 });
    const slow = hub.subscribe(['a']);
    const fast = hub.subscribe(['a']);
    for (let i = 1; i <= 3; i += 1) hub.publish('a', msg(`m${i}`));
    assert.equal(slow.closeReason, undefined, 'exactly at the limit is still fine');
    assert.deepEqual(ids(await take(fast, 3)), ['m1', 'm2', 'm3']);
    hub.publish('a', msg('m4'));
    assert.equal(slow.closeReason, 'overflow');
    assert.equal(slow.pending, 0, 'the buffer is released at once');
    assert.deepEqual(await slow.next(), { done: true, value: undefined });
    assert.deepEqual(ids(await take(fast, 1)), ['m4'], 'other subscribers are unaffected');
    assert.equal(hub.stats().subscriptions, 1);
  });

  it('replay does not count against the live buffer limit', async () => {
    const hub = createHub({ clientBufferLimit: 2 });
    for (let i = 1; i <= 6; i += 1) hub.publish('a', msg(`m${i}`));
    const sub = hub.subscribe(['a'], 'm1');
    hub.publish('a', msg('m7'));
    assert.equal(sub.closeReason, undefined);
    assert.deepEqual(ids(await take(sub, 6)), ['m2', 'm3', 'm4', 'm5', 'm6', 'm7']);
  });

  it('close() stops delivery, ends pending next() and unregisters', async () => {
    const hub = createHub();
    const sub = hub.subscribe(['a', 'b']);
    const waiting = sub.next();
    sub.close();
    assert.deepEqual(await waiting, { done: true, value: undefined });
    hub.publish('a', msg('after'));
    assert.deepEqual(await sub.next(), { done: true, value: undefined });
    assert.equal(sub.closeReason, 'closed');
    assert.deepEqual(hub.stats(), { topics: 1, subscriptions: 0, pending: 0 });
    sub.close(); // idempotent
  });

  it('hub.close() ends every subscription', async () => {
    const hub = createHub();
    const sub = hub.subscribe(['a']);
    hub.close();
    assert.equal(sub.closeReason, 'hub-closed');
    assert.equal(hub.publish('a', msg('late')), false);
    assert.equal(hub.subscribe(['a']).closeReason, 'hub-closed');
  });

  it('rejects ids and event names that no line protocol can carry', () => {
    const hub = createHub();
    assert.throws(() => hub.publish('a', { id: 'a\nb', event: 'x', data: null }), /id/);
    assert.throws(() => hub.publish('a', { id: '', event: 'x', data: null }), /id/);
    assert.throws(() => hub.publish('a', { id: 'ok', event: 'x\r', data: null }), /event/);
  });

  it('memory stays bounded: history per topic is a ring', () => {
    const hub = createHub({ historyPerTopic: 5 });
    for (let i = 0; i < 10_000; i += 1) hub.publish('a', msg(`m${i}`));
    const sub = hub.subscribe(['a'], 'm9995'); // the oldest message still held
    assert.deepEqual([sub.reset, sub.pending], [false, 4]);
    assert.equal(hub.subscribe(['a'], 'm9994').reset, true, 'just evicted: unknown');
    assert.equal(hub.subscribe(['a'], 'm9000').reset, true);
  });

  it('a resume point from another epoch resets even when the id is known here', async () => {
    const hub = createHub();
    const other = createHub();
    assert.notEqual(hub.epoch, other.epoch, 'every hub instance has its own epoch');
    hub.publish('a', msg('a1'));
    hub.publish('a', msg('a2'));
    const same = hub.subscribe(['a'], { lastEventId: 'a1', epoch: hub.epoch });
    assert.deepEqual([same.reset, same.pending], [false, 1]);
    const restarted = hub.subscribe(['a'], { lastEventId: 'a1', epoch: other.epoch });
    assert.deepEqual([restarted.reset, restarted.pending], [true, 0]);
    hub.publish('a', msg('a3'));
    assert.deepEqual(ids(await take(restarted, 1)), ['a3'], 'a reset subscription follows live');
  });

  it('tells onEnd why a subscription ended, once', () => {
    const hub = createHub({ clientBufferLimit: 1 });
    const reasons: string[] = [];
    const slow = hub.subscribe(['a'], { onEnd: (r) => reasons.push(`slow:${r}`) });
    const closed = hub.subscribe(['a'], { onEnd: (r) => reasons.push(`closed:${r}`) });
    closed.close();
    closed.close();
    hub.publish('a', msg('m1'));
    hub.publish('a', msg('m2'));
    assert.equal(slow.closeReason, 'overflow');
    const last = hub.subscribe(['a'], { onEnd: (r) => reasons.push(`last:${r}`) });
    hub.close();
    assert.equal(last.closeReason, 'hub-closed');
    assert.deepEqual(reasons, ['closed:closed', 'slow:overflow', 'last:hub-closed']);
  });
});
