/**
 * Partner accounts on the stack's RabbitMQ, provisioned with rabbitmqctl: what a partner may and
 * may not do with its own credentials in the region's vhost, its bounded queue refusing publishes
 * when full, and revocation closing its connection.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import amqp, { type ChannelModel } from 'amqplib';
import type { LegacyPartner } from '../../domains/partners/legacy-partner.ts';
import { type AmqpDependency, createAmqp } from '../adapters/amqp.ts';
import { uniqueName } from '../adapters/testing.ts';
import { RABBITMQ_EPMD_PORT, resolveEndpoints } from '../config/endpoints.ts';
import { STACK_DIR } from '../stack/paths.ts';
import { createRabbitmqctlAccounts, type RabbitmqctlOptions, rabbitmqctl } from './broker-accounts.rabbitmqctl.ts';
import { inboundTopology } from './inbound-topology.ts';

const CTL: RabbitmqctlOptions = {
  command: '/usr/lib/rabbitmq/bin/rabbitmqctl',
  node: 'meridian@localhost',
  home: path.join(STACK_DIR, 'data', 'rabbitmq-home'),
  epmdPort: RABBITMQ_EPMD_PORT,
};

function partner(maxQueued = 1000): LegacyPartner {
  const id = `lp_${uniqueName('', '').slice(0, 32)}`;
  return {
    id,
    tenant: 't1',
    name: 'test',
    status: 'ACTIVE',
    ratePerSecond: 10,
    maxQueued,
    inboundEventTypes: [],
    passwordHash: 'x',
    createdAt: '2030-01-01T00:00:00Z',
    updatedAt: '2030-01-01T00:00:00Z',
  };
}

/** Runs `work` on a fresh channel of `conn`; resolves with the channel's error (or undefined). */
async function channelError(
  conn: ChannelModel,
  work: (ch: amqp.ConfirmChannel) => Promise<unknown>,
): Promise<string | undefined> {
  const ch = await conn.createConfirmChannel();
  let error: string | undefined;
  const closed = new Promise<void>((resolve) => ch.once('close', () => resolve()));
  ch.on('error', (err: Error) => {
    error = err.message;
  });
  try {
    await work(ch);
    await ch.close();
  } catch (err) {
    error ??= (err as Error).message;
  }
  await closed;
  return error;
}

describe('partner broker accounts (rabbitmqctl, east vhost)', () => {
  const { amqpUrl } = resolveEndpoints('east', process.env);
  const admin: AmqpDependency = createAmqp({ url: amqpUrl });
  const exchange = `${uniqueName('partners-test', '-').slice(0, 40)}.inbound`;
  const topology = inboundTopology(exchange);
  const accounts = createRabbitmqctlAccounts({ ctl: CTL, amqp: admin, vhost: 'east', exchange });
  const made: LegacyPartner[] = [];
  const connections: ChannelModel[] = [];
  const connect = async (p: LegacyPartner, password: string) => {
    const c = await amqp.connect(amqpUrl.replace('meridian:meridian', `${p.id}:${password}`));
    c.on('error', () => {});
    connections.push(c);
    return c;
  };

  let a: LegacyPartner;
  let b: LegacyPartner;
  before(async () => {
    [a, b] = [partner(), partner(3)];
    for (const p of [a, b]) {
      await accounts.provision(p, `pw-${p.id}`);
      made.push(p);
    }
  });
  after(async () => {
    await Promise.allSettled(connections.map((c) => c.close()));
    for (const p of made) await accounts.revoke(p.id).catch(() => {});
    const ch = await admin.confirmChannel();
    for (const p of made) {
      await ch.deleteQueue(topology.queue(p.id)).catch(() => {});
      await ch.deleteQueue(topology.deadQueue(p.id)).catch(() => {});
    }
    await ch.deleteExchange(exchange).catch(() => {});
    await admin.close();
  });

  it('a partner publishes to the inbound exchange with its own routing keys, and reads its dead letters', async () => {
    const conn = await connect(a, `pw-${a.id}`);
    const error = await channelError(conn, async (ch) => {
      ch.publish(exchange, `${a.id}.shipments`, Buffer.from('{}'), { messageId: 'm1' });
      await ch.waitForConfirms();
      await ch.checkQueue(topology.deadQueue(a.id));
      await ch.consume(topology.deadQueue(a.id), () => {});
    });
    assert.equal(error, undefined);
    const ch = await admin.confirmChannel();
    assert.equal((await ch.checkQueue(topology.queue(a.id))).messageCount, 1, 'routed to its queue');
  });

  it('refused: another partner’s routing key, the default exchange, declaring, reading another queue', async () => {
    const conn = await connect(a, `pw-${a.id}`);
    const refusals: Array<[string, (ch: amqp.ConfirmChannel) => Promise<unknown>]> = [
      [
        'routing key of another partner',
        async (ch) => {
          ch.publish(exchange, `${b.id}.shipments`, Buffer.from('{}'));
          await ch.waitForConfirms();
        },
      ],
      [
        'the default exchange',
        async (ch) => {
          ch.sendToQueue(topology.queue(b.id), Buffer.from('{}'));
          await ch.waitForConfirms();
        },
      ],
      ['declaring a queue', (ch) => ch.assertQueue(`${a.id}.mine`)],
      ['consuming its own inbound queue', (ch) => ch.consume(topology.queue(a.id), () => {})],
      ['consuming another partner’s dead letters', (ch) => ch.consume(topology.deadQueue(b.id), () => {})],
    ];
    for (const [what, work] of refusals) {
      const error = await channelError(conn, work);
      assert.match(error ?? '', /ACCESS_REFUSED|403/, what);
    }
    const ch = await admin.confirmChannel();
    assert.equal((await ch.checkQueue(topology.queue(b.id))).messageCount, 0, 'nothing reached b’s queue');
  });

  it('a full queue refuses further publishes with a nack (reject-publish): nothing accepted is dropped', async () => {
    const conn = await connect(b, `pw-${b.id}`);
    const ch = await conn.createConfirmChannel();
    const results = await Promise.all(
      Array.from(
        { length: 5 },
        (_, i) =>
          new Promise<boolean>((resolve) =>
            ch.publish(exchange, `${b.id}.x`, Buffer.from(String(i)), { persistent: true }, (err) => resolve(!err)),
          ),
      ),
    );
    assert.deepEqual(results, [true, true, true, false, false]);
    await ch.close();
  });

  it('revoking closes the partner’s connection and refuses its login', async () => {
    const p = partner();
    await accounts.provision(p, 'secret-pw');
    made.push(p);
    const conn = await connect(p, 'secret-pw');
    const closed = new Promise<void>((resolve) => conn.once('close', () => resolve()));
    await accounts.revoke(p.id);
    await closed;
    await assert.rejects(connect(p, 'secret-pw'), /ACCESS_REFUSED|403/);
    assert.doesNotMatch(await rabbitmqctl(CTL, ['list_users']), new RegExp(p.id));
    await accounts.revoke(p.id); // again: nothing to do, no error
  });
});
