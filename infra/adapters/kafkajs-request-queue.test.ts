/** The request queue fix (unit: kafkajs' RequestQueue on its own, no broker). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RequestQueue, requestQueueFixed } from './kafkajs-request-queue.ts';

const logger = { debug() {}, info() {}, warn() {}, error() {} };

/** A queue of `maxInFlight` requests whose checks are counted, and a way to push requests that record when they go out. */
function queue(maxInFlight = 2) {
  const q = new RequestQueue({
    maxInFlightRequests: maxInFlight,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: 'test',
    broker: 'localhost:0',
    logger,
  });
  let checks = 0;
  const check = q.checkPendingRequests.bind(q);
  q.checkPendingRequests = () => {
    checks++;
    check();
  };
  const sent: number[] = [];
  let next = 1;
  const push = () => {
    const correlationId = next++;
    const answered = new Promise((resolve, reject) =>
      q.push({
        entry: { correlationId, resolve, reject, apiKey: 1, apiName: 'Fetch', apiVersion: 11 },
        expectResponse: true,
        sendRequest: () => sent.push(correlationId),
      }),
    );
    return { correlationId, answered };
  };
  const answer = (correlationId: number) => q.fulfillRequest({ correlationId, payload: null, size: 0 });
  return { q, push, answer, sent, checks: () => checks };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('kafkajs request queue (fixed)', () => {
  it('is in force for the installed kafkajs', () => {
    assert.ok(requestQueueFixed);
  });

  it('an answered request with nothing waiting leaves no timer running (kafkajs: a check every millisecond, for ever)', async () => {
    const { q, push, answer, checks } = queue();
    const r = push();
    answer(r.correlationId);
    await r.answered;
    const before = checks();
    await sleep(200);
    assert.ok(checks() - before <= 1, `${checks() - before} checks in 200 ms with nothing to send`);
    assert.equal(q.throttleCheckTimeoutId, null);
    q.destroy();
  });

  it('a request over the in-flight limit waits, and goes out when one in flight is answered', async () => {
    const { q, push, answer, sent } = queue(1);
    const first = push();
    const second = push();
    assert.deepEqual(sent, [first.correlationId], 'the second waits');
    answer(first.correlationId);
    assert.deepEqual(sent, [first.correlationId, second.correlationId]);
    answer(second.correlationId);
    await Promise.all([first.answered, second.answered]);
    q.destroy();
  });

  it('while throttled, requests wait until the throttle ends and then go out without another push', async () => {
    const { q, push, answer, sent } = queue();
    q.maybeThrottle(100);
    const started = Date.now();
    const r = push();
    assert.deepEqual(sent, [], 'held back by the throttle');
    while (sent.length === 0 && Date.now() - started < 2000) await sleep(5);
    assert.deepEqual(sent, [r.correlationId]);
    assert.ok(Date.now() - started >= 95, `sent after ${Date.now() - started} ms of a 100 ms throttle`);
    answer(r.correlationId);
    await r.answered;
    q.destroy();
  });
});
