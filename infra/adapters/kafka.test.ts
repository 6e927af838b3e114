/** The Kafka adapter's consumers stay stopped once disconnected (kafkajs would restart a crashed one). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Consumer, ConsumerConfig } from 'kafkajs';
import { staysStoppedOnceDisconnected } from './kafka.ts';

/** A consumer that records the config it was made with (kafkajs's is asked the same way). */
function fake(): { make: (config: ConsumerConfig) => Consumer; config: () => ConsumerConfig; calls: string[] } {
  let seen: ConsumerConfig | undefined;
  const calls: string[] = [];
  return {
    calls,
    config: () => seen as ConsumerConfig,
    make: (config) => {
      seen = config;
      return {
        connect: async () => void calls.push('connect'),
        disconnect: async () => void calls.push('disconnect'),
      } as unknown as Consumer;
    },
  };
}

const crash = new Error('broker went away');

describe('staysStoppedOnceDisconnected', () => {
  it('lets kafkajs restart a crashed consumer until it is disconnected, then never, until connected again', async () => {
    const f = fake();
    const c = staysStoppedOnceDisconnected(f.make, { groupId: 'g' });
    const restart = f.config().retry?.restartOnFailure as (e: Error) => Promise<boolean>;
    await c.connect();
    assert.equal(await restart(crash), true);
    await c.disconnect();
    assert.equal(await restart(crash), false, 'a crash answered after our disconnect does not restart it');
    await c.connect();
    assert.equal(await restart(crash), true);
    assert.deepEqual(f.calls, ['connect', 'disconnect', 'connect'], 'the real connect and disconnect still run');
  });

  it('keeps the caller’s own restartOnFailure and retry settings', async () => {
    const f = fake();
    const asked: Error[] = [];
    staysStoppedOnceDisconnected(f.make, {
      groupId: 'g',
      retry: {
        retries: 3,
        restartOnFailure: async (e) => {
          asked.push(e);
          return false;
        },
      },
    });
    const retry = f.config().retry;
    assert.equal(retry?.retries, 3);
    assert.equal(await retry?.restartOnFailure?.(crash), false);
    assert.deepEqual(asked, [crash]);
  });
});
