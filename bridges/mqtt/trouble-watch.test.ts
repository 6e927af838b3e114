/** The bridge's watch on Kafka while a message waits long: the wait counts from the end of an outage. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { watchTrouble } from './trouble-watch.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('watchTrouble', () => {
  it('keeps the last unanswered look of an outage, so a wait counts from when Kafka is back', async () => {
    let up = false;
    let looks = 0;
    const watch = watchTrouble({
      answers: async () => {
        looks++;
        return up;
      },
      needed: () => true,
      everyMs: 20,
    });
    try {
      await sleep(300);
      const backAt = Date.now();
      up = true;
      await sleep(200);
      assert.ok(looks >= 8, `looked ${looks} times`);
      // The last failure is at most one interval (and timer slack) before Kafka came back.
      assert.ok(watch.troubleAt > backAt - 150, `last trouble ${backAt - watch.troubleAt} ms before Kafka was back`);
      assert.ok(watch.troubleAt <= backAt);
    } finally {
      watch.stop();
    }
  });

  it('asks nothing while nothing waits long, and records what the pipeline saw', async () => {
    let looks = 0;
    const watch = watchTrouble({
      answers: async () => {
        looks++;
        return false;
      },
      needed: () => false,
      everyMs: 10,
    });
    try {
      await sleep(100);
      assert.equal(looks, 0);
      assert.equal(watch.troubleAt, 0);
      const before = Date.now();
      watch.saw();
      assert.ok(watch.troubleAt >= before);
    } finally {
      watch.stop();
    }
  });

  it('asks one question at a time: a slow answer is not overtaken, a rejected one counts as unanswered', async () => {
    let open = 0;
    let most = 0;
    let looks = 0;
    const watch = watchTrouble({
      answers: async () => {
        looks++;
        open++;
        most = Math.max(most, open);
        await sleep(50);
        open--;
        throw new Error('connection refused');
      },
      needed: () => true,
      everyMs: 5,
    });
    try {
      await sleep(300);
      assert.equal(most, 1);
      assert.ok(looks >= 2);
      assert.ok(watch.troubleAt > 0);
    } finally {
      watch.stop();
    }
    const after = looks;
    await sleep(120);
    assert.ok(looks <= after + 1, 'stopped: no more questions');
  });
});
