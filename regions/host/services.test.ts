import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createServiceManager, type Service, startOrder, step } from './services.ts';

function recorder() {
  const events: string[] = [];
  const service = (name: string, needs: string[] = [], opts: { failStart?: boolean; ms?: number } = {}): Service => ({
    name,
    needs,
    async start() {
      events.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, opts.ms ?? 1));
      if (opts.failStart) throw new Error(`${name} cannot start`);
      events.push(`running ${name}`);
    },
    async stop() {
      events.push(`stop ${name}`);
    },
  });
  return { events, service };
}

describe('service manager', () => {
  it('orders services in waves after what they need, and refuses unknown needs and cycles', () => {
    const { service } = recorder();
    const waves = startOrder([service('http', ['gateway']), service('db'), service('gateway', ['db'])]);
    assert.deepEqual(
      waves.map((w) => w.map((s) => s.name)),
      [['db'], ['gateway'], ['http']],
    );
    assert.throws(() => startOrder([service('a', ['ghost'])]), /a needs ghost, which is not added/);
    assert.throws(() => startOrder([service('a', ['b']), service('b', ['a'])]), /cycle: a, b/);
    assert.throws(() => startOrder([service('a'), service('a')]), /added twice/);
  });

  it('starts in dependency order, independent services together, and stops once, in reverse, waves together', async () => {
    const { events, service } = recorder();
    const m = createServiceManager();
    m.add(service('http', ['consumer', 'relay']));
    m.add(service('relay', ['migrations']));
    m.add(service('consumer', ['migrations'], { ms: 20 }));
    m.add(step('migrations', async () => events.push('migrated')));
    await m.start();
    const started = m.started;
    assert.deepEqual(started.slice(0, 1), ['migrations']);
    assert.deepEqual(new Set(started.slice(1, 3)), new Set(['relay', 'consumer']));
    assert.equal(started[3], 'http');
    // relay and consumer started together: both started before either was running.
    assert.ok(events.indexOf('start consumer') < events.indexOf('running relay'));
    const before = events.length;
    await Promise.all([m.stop(), m.stop()]);
    const stops = events.slice(before);
    assert.equal(stops[0], 'stop http', 'what needs others stops first');
    assert.deepEqual(new Set(stops.slice(1)), new Set(['stop relay', 'stop consumer']), 'a wave stops together');
    assert.equal(stops.length, 3, 'each stopped once (a step has nothing to record)');
  });

  it('a service that fails to start stops what started before it, and start rejects naming it', async () => {
    const { events, service } = recorder();
    const m = createServiceManager();
    m.add(service('db'));
    m.add(service('broken', ['db'], { failStart: true }));
    m.add(service('http', ['broken']));
    await assert.rejects(m.start(), /service broken failed to start: broken cannot start/);
    assert.ok(events.includes('stop db'));
    assert.ok(!events.includes('start http'), 'nothing after the failure starts');
    const status = await m.status();
    assert.equal(status.broken?.state, 'failed');
    assert.equal(status.broken?.ok, false);
    assert.equal(status.http?.state, 'pending');
  });

  it('status reports each service, with its check, for /ready', async () => {
    const m = createServiceManager();
    m.add({ name: 'fine', start: async () => {}, stop: async () => {}, check: async () => 'lag 0' });
    m.add({
      name: 'sick',
      start: async () => {},
      stop: async () => {},
      check: async () => {
        throw new Error('broker unreachable');
      },
    });
    m.add({ name: 'plain', start: async () => {}, stop: async () => {} });
    await m.start();
    const status = await m.status();
    assert.deepEqual(
      { fine: status.fine?.ok, sick: status.sick?.ok, plain: status.plain?.ok },
      { fine: true, sick: false, plain: true },
    );
    assert.equal(status.fine?.detail, 'lag 0');
    assert.equal(status.sick?.detail, 'broker unreachable');
    await m.stop();
    assert.equal((await m.status()).fine?.state, 'stopped');
  });
});
