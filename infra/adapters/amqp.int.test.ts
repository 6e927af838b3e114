import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ConsumeMessage } from 'amqplib';
import { REGIONS, type Region, resolveEndpoints } from '../config/endpoints.ts';
import { type AmqpDependency, createAmqp } from './amqp.ts';
import { closedPort, eventually, uniqueName } from './testing.ts';

describe('amqp adapter', () => {
  const adapters = new Map<Region, AmqpDependency>();
  const amqp = (region: Region): AmqpDependency => {
    const adapter = adapters.get(region);
    if (!adapter) throw new Error(`no amqp adapter for ${region}`);
    return adapter;
  };
  const queues: Array<{ region: Region; queue: string }> = [];

  before(() => {
    for (const region of REGIONS) {
      adapters.set(region, createAmqp({ url: resolveEndpoints(region, process.env).amqpUrl }));
    }
  });

  after(async () => {
    try {
      for (const { region, queue } of queues) {
        const channel = await amqp(region).confirmChannel();
        await channel.deleteQueue(queue).catch(() => {});
      }
    } finally {
      await Promise.all([...adapters.values()].map((adapter) => adapter.close()));
    }
  });

  for (const region of REGIONS) {
    describe(`vhost ${region}`, () => {
      it('ping returns the broker version', async () => {
        assert.match(await amqp(region).ping(), /^\d+\.\d+\.\d+$/);
      });

      it('publishes persistent messages with confirms and consumes them in order with manual ack', async () => {
        const queue = uniqueName(`adapter-test.${region}`, '.');
        queues.push({ region, queue });
        const channel = await amqp(region).confirmChannel();
        const declared = await channel.assertQueue(queue, { durable: true });
        assert.equal(declared.queue, queue);
        assert.equal(declared.messageCount, 0);

        const bodies = [1, 2, 3].map((n) => `${region} message ${n}`);
        for (const body of bodies) {
          channel.sendToQueue(queue, Buffer.from(body), { persistent: true, contentType: 'text/plain' });
        }
        // Resolves only once the broker has confirmed (and, for persistent messages, stored) them all.
        await channel.waitForConfirms();
        const counted = await channel.checkQueue(queue);
        assert.equal(counted.messageCount, bodies.length);

        const received: ConsumeMessage[] = [];
        const { consumerTag } = await channel.consume(
          queue,
          (message) => {
            if (message === null) return; // the broker cancelled the consumer
            received.push(message);
            channel.ack(message);
          },
          { noAck: false },
        );
        try {
          await eventually(() => assert.equal(received.length, bodies.length), { timeoutMs: 5000 });
        } finally {
          await channel.cancel(consumerTag);
        }
        assert.deepEqual(
          received.map((m) => m.content.toString()),
          bodies,
        );
        for (const message of received) {
          assert.equal(message.properties.deliveryMode, 2, 'persistent');
          assert.equal(message.properties.contentType, 'text/plain');
          assert.equal(message.fields.redelivered, false);
        }
        // Closing a channel requeues whatever it left unacked; the acks mean nothing comes back.
        await channel.close();
        const check = await amqp(region).confirmChannel();
        assert.equal((await check.checkQueue(queue)).messageCount, 0);
      });
    });
  }

  it('vhosts are isolated: a queue declared in east does not exist in west', async () => {
    const queue = uniqueName('adapter-test.isolation', '.');
    queues.push({ region: 'east', queue });
    const east = await amqp('east').confirmChannel();
    await east.assertQueue(queue, { durable: true });
    assert.equal((await east.checkQueue(queue)).queue, queue, 'the passive declare succeeds where the queue is');

    // A failed passive declare closes its channel, so use a throwaway one.
    const west = await (await amqp('west').connection()).createChannel();
    const closed = new Promise<void>((resolve) => west.once('close', () => resolve()));
    west.on('error', () => {}); // the 404 is expected; it must not become an unhandled 'error' event
    await assert.rejects(west.checkQueue(queue), (err: Error & { code?: number }) => {
      assert.equal(err.code, 404);
      assert.match(err.message, /NOT_FOUND/);
      return true;
    });
    await closed;
    assert.match(await amqp('west').ping(), /^\d+\.\d+\.\d+$/, 'the connection survives a channel error');
  });

  it('ping rejects when the broker is unreachable', async () => {
    const down = createAmqp({ url: `amqp://meridian:meridian@127.0.0.1:${await closedPort()}/east` });
    try {
      await assert.rejects(down.ping(), /ECONNREFUSED/);
    } finally {
      await down.close();
    }
  });
});
