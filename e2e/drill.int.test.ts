/**
 * A failover drill that must fail: short traffic, soft mode (the region's process is SIGKILLed;
 * Kafka and PostgreSQL stay up), its reconciliation sabotaged (the restored region keeps no
 * standby copy) — the invariants must catch it. The passing drill of the test command is
 * started by an operator from the ops console (e2e/ops-console-drill.int.test.ts), which
 * asserts its invariants and measurements. Runs alone in the e2e tier: it moves the real
 * writer lease, and moves it back.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runFailoverDrill } from '../regions/drill/drill.ts';

const short = { warmupSeconds: 3, outageSeconds: 3, afterSeconds: 2, ordersPerSecond: 5, readsPerSecond: 10 };

describe('failover drill (soft, short traffic)', () => {
  it('a drill whose reconciliation is sabotaged fails its invariants', async (t) => {
    const lines: string[] = [];
    const report = await runFailoverDrill({
      from: 'east',
      hard: false,
      ...short,
      breakReconciliation: true,
      reconcileTimeoutSeconds: 15,
      log: (l) => lines.push(l),
    });
    t.diagnostic(lines.join('\n'));
    assert.equal(report.ok, false);
    const missing = report.invariants.find((i) => i.name === 'every acknowledged order exists in both regions');
    assert.equal(missing?.ok, false, 'orders the survivor took never reached the sabotaged region');
  });
});
