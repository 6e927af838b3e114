import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { resolveEndpoints } from '../config/endpoints.ts';
import { createRedis } from './redis.ts';
import { redisChannel } from './redis-channel.ts';
import { eventually, uniqueName } from './testing.ts';

describe('redis channel (pub/sub)', () => {
  const redis = createRedis({ url: resolveEndpoints('east', process.env).redisUrl });
  after(() => redis.close());

  it("reaches every follower of the channel, not another channel's", async () => {
    const name = uniqueName('test:channel', ':');
    const channel = redisChannel(redis.client, name);
    const other = redisChannel(redis.client, `${name}:other`);
    const got: Record<string, string[]> = { a: [], b: [], other: [] };
    const a = await channel.follow((t) => got.a?.push(t));
    const b = await channel.follow((t) => got.b?.push(t));
    const o = await other.follow((t) => got.other?.push(t));
    try {
      assert.equal(await channel.publish('one'), 2);
      assert.equal(await channel.publish('two ✓'), 2);
      await eventually(() => assert.equal(got.a?.length, 2), { timeoutMs: 2000 });
      await eventually(() => assert.equal(got.b?.length, 2), { timeoutMs: 2000 });
      assert.deepEqual(got.a, ['one', 'two ✓']);
      assert.deepEqual(got.b, ['one', 'two ✓']);
      assert.deepEqual(got.other, []);
    } finally {
      await Promise.all([a.stop(), b.stop(), o.stop()]);
    }
  });

  it('a stopped follower hears nothing more', async () => {
    const channel = redisChannel(redis.client, uniqueName('test:channel', ':'));
    const got: string[] = [];
    const follower = await channel.follow((t) => got.push(t));
    assert.equal(await channel.publish('before'), 1);
    await eventually(() => assert.deepEqual(got, ['before']), { timeoutMs: 2000 });
    await follower.stop();
    await eventually(async () => assert.equal(await channel.publish('after'), 0), { timeoutMs: 2000 });
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(got, ['before']);
  });

  it('a follower whose connection was cut subscribes again and hears what comes after', async () => {
    const name = uniqueName('test:channel', ':');
    const channel = redisChannel(redis.client, name);
    const got: string[] = [];
    const follower = await channel.follow((t) => got.push(t));
    try {
      // Only this follower's connection: other processes on this Redis follow channels of their own.
      const list = String(await redis.client.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
      const id = list
        .split('\n')
        .find((line) => line.includes(` name=follow:${name} `))
        ?.match(/^id=(\d+)/)?.[1];
      assert.ok(id, `the follower's connection is listed:\n${list}`);
      assert.equal(await redis.client.call('CLIENT', 'KILL', 'ID', id), 1);
      // Back once Redis counts a subscriber on the channel again.
      await eventually(
        async () => {
          const [, n] = (await redis.client.pubsub('NUMSUB', name)) as [string, number];
          assert.equal(Number(n), 1);
        },
        { timeoutMs: 10_000 },
      );
      await channel.publish('after the cut');
      await eventually(() => assert.deepEqual(got, ['after the cut']), { timeoutMs: 2000 });
    } finally {
      await follower.stop();
    }
  });
});
