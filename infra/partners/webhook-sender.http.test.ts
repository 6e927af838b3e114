import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { addressPolicy, parseAllowList } from './address-policy.ts';
import { type Receiver, startReceiver } from './receiver.testing.ts';
import { createHttpWebhookSender } from './webhook-sender.http.ts';
import { newWebhookSecret } from './webhook-signature.ts';

const LOOPBACK = addressPolicy({ allow: parseAllowList('127.0.0.1/32') });

describe('HTTP webhook sender (real loopback receivers)', () => {
  const receivers: Receiver[] = [];
  const sender = createHttpWebhookSender({ policy: LOOPBACK, timeoutMs: 500, maxResponseBytes: 64 });
  after(async () => {
    sender.close();
    await Promise.all(receivers.map((r) => r.close()));
  });
  const receiver = async (...args: Parameters<typeof startReceiver>) => {
    const r = await startReceiver(...args);
    receivers.push(r);
    return r;
  };
  const secret = newWebhookSecret();
  const payload = '{"type":"shop.order.created.v1","timestamp":"2030-01-01T00:00:00.000Z","data":{"n":1}}';
  const send = (url: string, secrets = [secret]) =>
    sender.send({ url, messageId: 'msg_abc', payload, secrets, at: Date.now() });

  it('POSTs the exact payload, signed: the receiver verifies it with standardwebhooks', async () => {
    const r = await receiver(() => ({ status: 200, body: 'thanks' }));
    const result = await send(r.url);
    assert.equal(result.kind, 'response');
    assert.deepEqual(result.kind === 'response' && [result.status, result.body], [200, 'thanks']);
    const [got] = r.received;
    assert.equal(got?.body, payload);
    assert.equal(got?.headers['content-type'], 'application/json');
    assert.equal(got?.headers['webhook-id'], 'msg_abc');
    assert.deepEqual(
      new Webhook(secret).verify(got?.body ?? '', got?.headers as Record<string, string>),
      JSON.parse(payload),
    );
  });

  it('does not follow a redirect: the 3xx is the answer and the target never hears of it', async () => {
    const target = await receiver();
    const r = await receiver(() => ({ status: 307, headers: { location: target.url } }));
    const result = await send(r.url);
    assert.deepEqual(result.kind === 'response' && result.status, 307);
    assert.equal(target.received.length, 0);
  });

  it('an answer later than the deadline is a timeout', async () => {
    const r = await receiver(() => ({ status: 200, delayMs: 2000 }));
    const result = await send(r.url);
    assert.equal(result.kind, 'error');
    assert.match(result.kind === 'error' ? result.error : '', /no answer within 500 ms/);
    assert.ok(result.latencyMs < 1500);
  });

  it('reads at most the cap of a large body, and passes Retry-After on', async () => {
    const r = await receiver(() => ({ status: 503, headers: { 'retry-after': '7' }, body: 'x'.repeat(1_000_000) }));
    const result = await send(r.url);
    assert.equal(result.kind, 'response');
    if (result.kind !== 'response') return;
    assert.equal(result.status, 503);
    assert.equal(result.retryAfter, '7');
    assert.equal(result.body?.length, 64);
  });

  it('refuses loopback without an allow-list, for an IP literal and for a name resolving to it', async () => {
    const r = await receiver();
    const strict = createHttpWebhookSender({ policy: addressPolicy(), timeoutMs: 500, maxResponseBytes: 64 });
    for (const url of [r.url, r.url.replace('127.0.0.1', 'localhost')]) {
      const result = await strict.send({ url, messageId: 'msg_x', payload, secrets: [secret], at: Date.now() });
      assert.equal(result.kind, 'error', url);
      assert.match(result.kind === 'error' ? result.error : '', /address not allowed/);
    }
    strict.close();
    assert.equal(r.received.length, 0, 'nothing reached the internal address');
  });
});
