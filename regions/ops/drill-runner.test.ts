import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { until } from '../../infra/adapters/testing.ts';
import { createDrillRunner, type DrillRequest, parseDrillRequest } from './drill-runner.ts';

describe('drill runner', () => {
  it('checks what an operator asks for', () => {
    assert.deepEqual(parseDrillRequest({ from: 'west', outageSeconds: 3 }), {
      from: 'west',
      hard: false,
      warmupSeconds: 10,
      outageSeconds: 3,
      afterSeconds: 5,
      ordersPerSecond: 10,
    });
    assert.equal((parseDrillRequest({ ordersPerSecond: 3 }) as DrillRequest).ordersPerSecond, 3);
    assert.equal(parseDrillRequest({ ordersPerSecond: 0 }), 'ordersPerSecond: 1 to 200 orders a second');
    assert.equal(parseDrillRequest({ ordersPerSecond: '3' }), 'ordersPerSecond: 1 to 200 orders a second');
    assert.equal(parseDrillRequest({ ordersPerSecond: 1e9 }), 'ordersPerSecond: 1 to 200 orders a second');
    assert.equal(parseDrillRequest({ from: 'north' }), 'from: east or west');
    assert.equal(parseDrillRequest({ warmupSeconds: -1 }), 'warmupSeconds: 0 to 600 seconds');
    assert.equal(parseDrillRequest({ afterSeconds: '5' }), 'afterSeconds: 0 to 600 seconds');
    assert.equal(parseDrillRequest({ hard: 'yes' }), 'hard: true or false');
  });

  it('runs the drill CLI, keeps its output as progress and its exit code, one at a time', async () => {
    const runner = createDrillRunner();
    // The CLI refuses an unknown region before touching anything (exit 2): the real process, no drill.
    const request = {
      from: 'north',
      hard: false,
      warmupSeconds: 1,
      outageSeconds: 1,
      afterSeconds: 1,
      ordersPerSecond: 1,
    } as unknown as DrillRequest;
    const started = runner.start(request);
    assert.ok(started);
    assert.equal(started.running, true);
    assert.equal(runner.start(request), undefined, 'a second drill waits for the first');
    const done = await until(() => (runner.current()?.running === false ? runner.current() : undefined), {
      timeoutMs: 30_000,
      what: 'the drill CLI exited',
    });
    assert.equal(done.exitCode, 2);
    assert.ok(
      done.lines.some((l) => /--from/.test(l)),
      done.lines.join('\n'),
    );
    assert.ok(runner.start(request), 'another may start once it ended');
    await runner.stop();
  });
});
