/**
 * The region's writer fence: which region may write each single-writer aggregate (orders),
 * under an epoch that only grows, held by the regions themselves (writer_leases in each
 * region's PostgreSQL). A move bumps the epoch in every region it reaches (`PUT /ops/writer`
 * on each region, which the edge and the drill call); a region that missed it — down during
 * the move — learns it from its peer, which it polls, before it would accept anything under
 * its stale lease for long: adoption is by highest epoch, so every region and edge converges.
 *
 * The cached lease answers quickly (WRITER_MOVED before any work); the write itself re-checks
 * inside its own transaction (infra/fencing), so no write commits under a lease that moved.
 */
import type pg from 'pg';
import { DomainError } from '../../domains/shared/errors.ts';
import { proposeLease, readLease, type WriterLease, writerMoved } from '../../infra/fencing/writer-lease.postgres.ts';
import type { Service } from './services.ts';

export type { WriterLease };

/** The fence as modules see it: one aggregate's writer check. */
export interface AggregateFence {
  /** Resolves with the lease when this region is the writer; rejects with WRITER_MOVED naming the writer. */
  assertWriter(): Promise<WriterLease>;
}

export interface WriterFence {
  readonly aggregates: readonly string[];
  /** The leases as last read (refreshed every `refreshMs` and after every change). */
  leases(): WriterLease[];
  fence(aggregate: string): AggregateFence;
  /** Adopts `writer` at `epoch` for the aggregates (all when none named) where that epoch is newer. */
  propose(writer: string, epoch: number, aggregates?: readonly string[]): Promise<WriterLease[]>;
  /** Told after a lease changed here (adopted from anywhere). */
  onChange(listener: (lease: WriterLease, previous: WriterLease | undefined) => void): void;
  readonly service: Service;
}

export interface WriterFenceOptions {
  readonly pool: pg.Pool;
  readonly region: string;
  readonly aggregates: readonly string[];
  /** The writer of an aggregate never moved yet (epoch 0). */
  readonly initialWriter: string;
  /** The peer region's gateway (its GET /ops/writer is polled), or undefined to not sync. */
  readonly peerGatewayUrl: string | undefined;
  readonly refreshMs?: number;
  readonly fetch?: typeof fetch;
  readonly log?: (line: string) => void;
}

/** A fence over the region's writer_leases, synced from the peer region. */
export function createWriterFence(opts: WriterFenceOptions): WriterFence {
  const refreshMs = opts.refreshMs ?? 1000;
  const fetchFn = opts.fetch ?? fetch;
  const cache = new Map<string, WriterLease>();
  const listeners: Array<(lease: WriterLease, previous: WriterLease | undefined) => void> = [];
  let timer: ReturnType<typeof setInterval> | undefined;
  let syncing: Promise<void> | undefined;

  function remember(lease: WriterLease): void {
    const previous = cache.get(lease.aggregate);
    cache.set(lease.aggregate, lease);
    if (previous === undefined || previous.epoch !== lease.epoch || previous.writer !== lease.writer) {
      if (previous !== undefined)
        opts.log?.(`writer of ${lease.aggregate}: ${previous.writer} → ${lease.writer} (epoch ${lease.epoch})`);
      for (const l of listeners) l(lease, previous);
    }
  }

  async function refresh(): Promise<void> {
    for (const aggregate of opts.aggregates) remember(await readLease(opts.pool, aggregate, opts.initialWriter));
  }

  /** Adopts the peer's leases where they are newer. A peer that is down is simply not heard from. */
  async function syncFromPeer(): Promise<void> {
    if (!opts.peerGatewayUrl) return;
    let body: { leases?: unknown } | undefined;
    try {
      const res = await fetchFn(`${opts.peerGatewayUrl}/ops/writer`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) body = (await res.json()) as { leases?: unknown };
    } catch {
      return;
    }
    for (const l of Array.isArray(body?.leases) ? body.leases : []) {
      const { aggregate, writer, epoch } = l as Partial<WriterLease>;
      if (typeof aggregate !== 'string' || !opts.aggregates.includes(aggregate)) continue;
      if (typeof writer !== 'string' || typeof epoch !== 'number') continue;
      const mine = cache.get(aggregate);
      if (mine === undefined || epoch > mine.epoch) remember(await proposeLease(opts.pool, aggregate, writer, epoch));
    }
  }

  async function tick(): Promise<void> {
    syncing ??= (async () => {
      try {
        await refresh();
        await syncFromPeer();
      } catch (err) {
        opts.log?.(`writer fence: ${(err as Error).message}`);
      } finally {
        syncing = undefined;
      }
    })();
    return syncing;
  }

  const fence: WriterFence = {
    aggregates: opts.aggregates,
    leases: () => [...cache.values()],
    fence(aggregate) {
      if (!opts.aggregates.includes(aggregate)) throw new Error(`${aggregate} is not a single-writer aggregate here`);
      return {
        async assertWriter() {
          const lease = cache.get(aggregate) ?? (await readLease(opts.pool, aggregate, opts.initialWriter));
          if (lease.writer !== opts.region) throw writerMoved(lease);
          return lease;
        },
      };
    },
    async propose(writer, epoch, aggregates = opts.aggregates) {
      const unknown = aggregates.filter((a) => !opts.aggregates.includes(a));
      if (unknown.length > 0) {
        throw new DomainError('BAD_USER_INPUT', `not single-writer aggregates here: ${unknown.join(', ')}`);
      }
      const out: WriterLease[] = [];
      for (const aggregate of aggregates) {
        const lease = await proposeLease(opts.pool, aggregate, writer, epoch);
        remember(lease);
        out.push(lease);
      }
      return out;
    },
    onChange(listener) {
      listeners.push(listener);
    },
    service: {
      name: 'writer-fence',
      needs: ['migrations'],
      async start() {
        await refresh();
        await syncFromPeer();
        timer = setInterval(() => void tick(), refreshMs);
      },
      async stop() {
        if (timer) clearInterval(timer);
        await syncing;
      },
      async check() {
        return fence
          .leases()
          .map((l) => `${l.aggregate}: ${l.writer}@${l.epoch}`)
          .join(', ');
      },
    },
  };
  return fence;
}
