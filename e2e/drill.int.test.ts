/**
 * The failover drill in the test command: short traffic, soft mode (the region's process is
 * SIGKILLed; Kafka and PostgreSQL stay up). It must pass its invariants; and a drill with its
 * reconciliation sabotaged (the restored region keeps no standby copy) must be caught.
 * Runs alone in the e2e tier: it moves the real writer lease, and moves it back.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runFailoverDrill } from '../regions/drill/drill.ts';

const short = { warmupSeconds: 5, outageSeconds: 5, afterSeconds: 3, ordersPerSecond: 5, readsPerSecond: 10 };

describe('failover drill (soft, short traffic)', () => {
  it('east → west and back: writes resume through the edge, and every invariant holds', async (t) => {
    const lines: string[] = [];
    const report = await runFailoverDrill({ from: 'east', hard: false, ...short, log: (l) => lines.push(l) });
    t.diagnostic(lines.join('\n'));
    const failed = report.invariants.filter((i) => !i.ok);
    assert.deepEqual(failed, [], 'every invariant holds');
    assert.equal(report.ok, true);
    const m = report.measurements;
    assert.ok(m.acknowledgedOrders > 20, `orders were taken (${m.acknowledgedOrders})`);
    assert.ok(m.timeToDetectMs !== null && m.timeToDetectMs < 5000, `detected in ${m.timeToDetectMs} ms`);
    assert.ok(m.rtoMs !== null && m.rtoMs < 10_000, `RTO ${m.rtoMs} ms (design goal < 10 s)`);
    assert.ok(m.reconcileMs !== null, 'reconciled');
    assert.ok(
      report.timeline.some((s) => s.writes > 0 && s.writeSuccessRate < 1),
      'the outage shows in the timeline',
    );
    assert.ok(report.events.some((e) => e.label.startsWith('writer moved to west')));
  });

  it('a drill whose reconciliation is sabotaged fails its invariants', async (t) => {
    const lines: string[] = [];
    const report = await runFailoverDrill({
      from: 'east',
      hard: false,
      ...short,
      breakReconciliation: true,
      reconcileTimeoutSeconds: 20,
      log: (l) => lines.push(l),
    });
    t.diagnostic(lines.join('\n'));
    assert.equal(report.ok, false);
    const missing = report.invariants.find((i) => i.name === 'every acknowledged order exists in both regions');
    assert.equal(missing?.ok, false, 'orders the survivor took never reached the sabotaged region');
  });
});
