import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { partnersSettings } from './settings.ts';

const from = (env: Record<string, string>) => (name: string) => env[name];

describe('partners settings', () => {
  it('defaults: Svix schedule, 15 s timeout, 5 days to auto-disable, no internal address allowed', () => {
    const s = partnersSettings('east', from({}), false);
    assert.equal(s.prefix, 'partners');
    assert.equal(s.webhooks.schedule.delaysMs.length, 8);
    assert.equal(s.webhooks.timeoutMs, 15_000);
    assert.equal(s.webhooks.disableAfterMs, 5 * 86_400_000);
    assert.deepEqual(s.webhooks.allowAddresses, []);
    assert.equal(s.webhooks.placement, 'in-process');
    assert.equal(s.webhooks.fanoutGatherMs, 0);
    assert.equal(s.rabbitmqctl?.node, 'meridian@localhost');
  });

  it('the fan-out gathers events for a duration up to 5 s, or not at all (0)', () => {
    const gather = (raw: string) => partnersSettings('east', from({ WEBHOOK_FANOUT_GATHER: raw }), false);
    assert.equal(gather('0').webhooks.fanoutGatherMs, 0);
    assert.equal(gather('2s').webhooks.fanoutGatherMs, 2000);
    assert.throws(() => gather('10s'), /MERIDIAN_EAST_PARTNERS_WEBHOOK_FANOUT_GATHER/);
    assert.throws(() => gather('-1'), /WEBHOOK_FANOUT_GATHER/);
  });

  it('production never assumes the local broker for partner accounts', () => {
    assert.equal(partnersSettings('east', from({}), true).rabbitmqctl, undefined);
    const set = partnersSettings('east', from({ RABBITMQCTL: '/opt/rabbitmqctl', RABBITMQ_NODE: 'rabbit@mq' }), true);
    assert.deepEqual([set.rabbitmqctl?.command, set.rabbitmqctl?.node], ['/opt/rabbitmqctl', 'rabbit@mq']);
  });

  it('an instance names its own queues and consumer group; bad values name the variable', () => {
    const s = partnersSettings('west', from({ INSTANCE: 'test-1', WEBHOOK_RETRY_SCHEDULE: '0,200ms' }), false);
    assert.deepEqual(
      [s.prefix, s.fanoutName, s.webhooks.schedule.delaysMs],
      ['partners-test-1', 'webhook-fanout-test-1', [0, 200]],
    );
    assert.throws(
      () => partnersSettings('west', from({ WEBHOOK_TIMEOUT: 'soon' }), false),
      /MERIDIAN_WEST_PARTNERS_WEBHOOK_TIMEOUT/,
    );
    assert.throws(
      () => partnersSettings('east', from({ WEBHOOK_ALLOW_ADDRESSES: 'everything' }), false),
      /ALLOW_ADDRESSES/,
    );
    assert.throws(() => partnersSettings('east', from({ DISPATCHER: 'elsewhere' }), false), /PARTNERS_DISPATCHER/);
    assert.throws(() => partnersSettings('east', from({ INSTANCE: 'Bad Name' }), false), /PARTNERS_INSTANCE/);
  });
});
