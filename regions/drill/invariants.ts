/**
 * What must hold after a failover and failback, checked against both regions' databases and
 * what the clients were told:
 * - every acknowledged order exists, once, in both regions, in the same state;
 * - no idempotency key (one client intent) has two live orders — a write in flight in the old
 *   writer when it failed and retried in the new one must end with one cancelled as a duplicate;
 * - no order was charged twice (payment.authorized written at most once per order, both regions);
 * - stock never negative, and the same in both regions;
 * - no writer epoch's orders were accepted by two regions;
 * - no order left PENDING, and both regions' histories (id, status, version) converged.
 */
import type pg from 'pg';
import type { Region } from '../../infra/config/endpoints.ts';
import type { Acknowledged } from './traffic.ts';

export interface InvariantResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

interface OrderRow {
  id: string;
  status: string;
  version: number;
  writer_region: string | null;
  writer_epoch: string | null;
  cancel_reason: string | null;
}

async function ordersOf(db: pg.Pool, tenant: string): Promise<Map<string, OrderRow>> {
  const { rows } = await db.query<OrderRow>(
    'SELECT id::text, status, version, writer_region, writer_epoch, cancel_reason FROM orders WHERE tenant = $1',
    [tenant],
  );
  return new Map(rows.map((r) => [r.id, r]));
}

/** The first few of a list, and how many more: for an invariant's detail. */
export const sample = (ids: readonly string[]) =>
  `${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ` (+${ids.length - 5})` : ''}`;

/** Checks every invariant for the drill's tenant and product; one result each. */
export async function checkInvariants(input: {
  readonly db: Record<Region, pg.Pool>;
  readonly tenant: string;
  readonly productId: string;
  readonly acknowledged: readonly Acknowledged[];
}): Promise<InvariantResult[]> {
  const { db, tenant, productId, acknowledged } = input;
  const results: InvariantResult[] = [];
  const check = (name: string, ok: boolean, detail: string) => results.push({ name, ok, detail });
  const orders = { east: await ordersOf(db.east, tenant), west: await ordersOf(db.west, tenant) };

  const missing = (['east', 'west'] as const).flatMap((r) =>
    acknowledged.filter((a) => !orders[r].has(a.orderId)).map((a) => `${a.orderId} in ${r}`),
  );
  check(
    'every acknowledged order exists in both regions',
    missing.length === 0,
    missing.length === 0
      ? `${acknowledged.length} acknowledged orders, all in east and west`
      : `missing: ${sample(missing)}`,
  );

  const byKey = new Map<string, string[]>();
  for (const a of acknowledged) byKey.set(a.key, [...(byKey.get(a.key) ?? []), a.orderId]);
  const answeredTwice = [...byKey].filter(([, ids]) => new Set(ids).size > 1).map(([k]) => k);
  // A key may point at different orders in the two regions (each keeps the first it saw); across
  // both, at most one of those orders may be live, and every live order must be some key's.
  const pointed = new Map<string, Set<string>>();
  for (const r of ['east', 'west'] as const) {
    const { rows } = await db[r].query<{ key: string; order_id: string }>(
      'SELECT key, order_id::text FROM idempotency_keys WHERE tenant = $1',
      [tenant],
    );
    for (const row of rows) pointed.set(row.key, (pointed.get(row.key) ?? new Set()).add(row.order_id));
  }
  const live = (id: string) =>
    ['east', 'west'].some((r) => {
      const o = orders[r as Region].get(id);
      return o !== undefined && o.status !== 'CANCELLED';
    });
  const twoLive = [...pointed].filter(([, ids]) => [...ids].filter(live).length > 1).map(([k]) => k);
  const keyed = new Set([...pointed.values()].flatMap((ids) => [...ids]));
  const orphans = [...new Set([...orders.east.keys(), ...orders.west.keys()])].filter(
    (id) => live(id) && !keyed.has(id),
  );
  check(
    'one live order per client intent (idempotency key)',
    answeredTwice.length === 0 && twoLive.length === 0 && orphans.length === 0,
    answeredTwice.length > 0
      ? `keys answered with two orders: ${sample(answeredTwice)}`
      : twoLive.length > 0
        ? `keys with two live orders (a write in flight at the failure not cancelled as a duplicate): ${sample(twoLive)}`
        : orphans.length > 0
          ? `live orders no key points at: ${sample(orphans)}`
          : `${pointed.size} keys, one live order each`,
  );

  // A charge is an authorization at the provider; the provider answers a repeated request for
  // an order with the same authorization (it is idempotent by order), so two regions asking for
  // one order around a failover is one charge. Two different authorizations would be two.
  const { rows: charges } = await Promise.all(
    (['east', 'west'] as const).map((r) =>
      db[r].query<{ order_id: string; authorization: string }>(
        `SELECT aggregate_id AS order_id, envelope->'data'->>'authorizationId' AS authorization FROM outbox
         WHERE topic = 'commerce.payment.authorized.v1' AND envelope->>'tenant' = $1`,
        [tenant],
      ),
    ),
  ).then((rs) => ({ rows: rs.flatMap((r) => r.rows) }));
  const authorizations = new Map<string, Set<string>>();
  for (const c of charges)
    authorizations.set(c.order_id, (authorizations.get(c.order_id) ?? new Set()).add(c.authorization));
  const twice = [...authorizations].filter(([, auths]) => auths.size > 1).map(([id]) => id);
  const asked = charges.length - authorizations.size;
  check(
    'no payment taken twice',
    twice.length === 0,
    twice.length === 0
      ? `${authorizations.size} orders charged, each once${asked ? ` (${asked} repeated requests answered with the same authorization)` : ''}`
      : `two different authorizations: ${sample(twice)}`,
  );

  const stock = await Promise.all(
    (['east', 'west'] as const).map(async (r) => {
      const { rows } = await db[r].query<{ stock: number }>('SELECT stock FROM products WHERE id = $1', [productId]);
      return rows[0]?.stock;
    }),
  );
  check(
    'stock never negative, and equal in both regions',
    stock.every((s) => s !== undefined && s >= 0) && stock[0] === stock[1],
    `stock of ${productId}: east ${stock[0]}, west ${stock[1]}`,
  );

  const epochs = new Map<string, Set<string>>();
  for (const r of ['east', 'west'] as const) {
    for (const o of orders[r].values()) {
      if (o.writer_epoch === null || o.writer_region !== r) continue;
      epochs.set(o.writer_epoch, (epochs.get(o.writer_epoch) ?? new Set()).add(r));
    }
  }
  const split = [...epochs].filter(([, regions]) => regions.size > 1).map(([e]) => e);
  check(
    'no epoch had two writers',
    split.length === 0,
    split.length === 0
      ? `epochs with orders: ${[...epochs].map(([e, rs]) => `${e}→${[...rs].join('')}`).join(', ')}`
      : `epochs accepted by both regions: ${split.join(', ')}`,
  );

  const pending = (['east', 'west'] as const).flatMap((r) =>
    [...orders[r].values()].filter((o) => o.status === 'PENDING').map((o) => `${o.id} in ${r}`),
  );
  check(
    'no order left PENDING',
    pending.length === 0,
    pending.length === 0 ? 'all settled' : `pending: ${sample(pending)}`,
  );

  const diverged: string[] = [];
  for (const id of new Set([...orders.east.keys(), ...orders.west.keys()])) {
    const e = orders.east.get(id);
    const w = orders.west.get(id);
    if (!e || !w || e.status !== w.status || e.version !== w.version) diverged.push(id);
  }
  check(
    'histories converged (every order in both regions, same status and version)',
    diverged.length === 0,
    diverged.length === 0 ? `${orders.east.size} orders identical in both regions` : `differ: ${sample(diverged)}`,
  );
  return results;
}
