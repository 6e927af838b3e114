/**
 * Protocol bridges' throughput and dead letters on one registry, whichever bridges a process
 * runs: each bridge adds its own counts under its label (`amqp`, `mqtt`…) with
 * {@link addBridgeStats}; the families are declared once, by the first bridge that registers.
 */
import type { Registry } from '../../edge/metrics/metrics.ts';

/** What a bridge has done since it started (counts only go up). */
export interface BridgeStats {
  /** Messages taken in from the protocol side (when the bridge counts them apart from `produced`). */
  readonly received?: number;
  /** Messages produced to Kafka (acknowledged by it). */
  readonly produced: number;
  /** Messages refused into the bridge's dead-letter destination. */
  readonly deadLettered: number;
}

const sourcesByRegistry = new WeakMap<Registry, Map<string, () => BridgeStats>>();

/**
 * Adds a bridge's counts to the registry: `meridian_bridge_messages_total{bridge,outcome}`
 * (outcome: received, produced, dead_lettered). Call once per bridge per registry.
 */
export function addBridgeStats(registry: Registry, bridge: string, stats: () => BridgeStats): void {
  let sources = sourcesByRegistry.get(registry);
  if (!sources) {
    const all = new Map<string, () => BridgeStats>();
    sources = all;
    sourcesByRegistry.set(registry, all);
    registry.collect<'bridge' | 'outcome'>(
      {
        name: 'meridian_bridge_messages_total',
        help: 'Messages through protocol bridges into Kafka, by bridge and outcome (received, produced, dead_lettered).',
        type: 'counter',
        labelNames: ['bridge', 'outcome'],
      },
      () =>
        [...all].flatMap(([name, read]) => {
          const s = read();
          return [
            ...(s.received === undefined ? [] : [[{ bridge: name, outcome: 'received' }, s.received] as const]),
            [{ bridge: name, outcome: 'produced' }, s.produced] as const,
            [{ bridge: name, outcome: 'dead_lettered' }, s.deadLettered] as const,
          ];
        }),
    );
  }
  if (sources.has(bridge)) throw new Error(`bridge ${bridge} already reports to this registry`);
  sources.set(bridge, stats);
}
