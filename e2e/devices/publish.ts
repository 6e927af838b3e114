/**
 * Paced QoS 1 publishing from many devices: each device sends `perDevice` readings, one every
 * `1000 / rate` ms (or as fast as PUBACKs come when rate is 0), and records what the broker
 * accepted (a PUBACK). A reading the broker did not accept is sent again with the same number
 * (what device firmware does), so "accepted" is exactly the set of (device, seq) the platform owes.
 */
import type { DeviceClient } from '../../infra/iot/device-client.ts';

export interface Accepted {
  /** Per device, the seqs the broker acknowledged, in the order sent. */
  readonly byDevice: Map<string, number[]>;
  /** Publish → PUBACK latencies (ms). */
  readonly pubackMs: number[];
  /** Device publish time per (device, seq), ms since epoch. */
  readonly sentAt: Map<string, number>;
  /** Readings accepted so far. */
  count: number;
  retries: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface PublishOptions {
  readonly perDevice: number;
  /** Readings per second per device (0: as fast as PUBACKs come). */
  readonly rate: number;
  readonly metrics?: (i: number) => Record<string, number>;
  readonly stop?: () => boolean;
  /** Keep every accepted (device, seq) and its send time (default true; the simulator only counts). */
  readonly track?: boolean;
}

/** Publishes until done; the counters fill as it goes. */
export function startPublishing(
  devices: readonly DeviceClient[],
  opts: PublishOptions,
): { accepted: Accepted; done: Promise<Accepted> } {
  const accepted: Accepted = { byDevice: new Map(), pubackMs: [], sentAt: new Map(), count: 0, retries: 0 };
  const track = opts.track ?? true;
  const interval = opts.rate > 0 ? 1000 / opts.rate : 0;
  const done = Promise.all(
    devices.map(async (d, n) => {
      const mine: number[] = [];
      accepted.byDevice.set(d.mqttId, mine);
      // Spread the devices' first sends over one interval.
      if (interval) await sleep((interval * n) / devices.length);
      let next = performance.now();
      for (let i = 0; i < opts.perDevice && !opts.stop?.(); i++) {
        const seq = d.nextSeq;
        for (;;) {
          const t0 = Date.now();
          if (track) accepted.sentAt.set(`${d.mqttId}/${seq}`, t0);
          try {
            await d.sendTelemetry(opts.metrics?.(i) ?? { value: i }, { seq });
            accepted.pubackMs.push(Date.now() - t0);
            accepted.count++;
            if (track) mine.push(seq);
            break;
          } catch {
            if (opts.stop?.()) return;
            accepted.retries++;
            await sleep(200);
          }
        }
        d.nextSeq = seq + 1;
        if (interval) {
          next += interval;
          const wait = next - performance.now();
          if (wait > 0) await sleep(wait);
        }
      }
    }),
  ).then(() => accepted);
  return { accepted, done };
}

/** Publishes and resolves with what the broker accepted. */
export function publishPaced(devices: readonly DeviceClient[], opts: PublishOptions): Promise<Accepted> {
  return startPublishing(devices, opts).done;
}
