/**
 * The LegacyPartnerStore on PostgreSQL. Registering and disabling run the broker's side (an
 * account made or removed) inside the transaction, before the commit: if the broker fails, the
 * row is rolled back; if the commit fails after the broker succeeded, the caller's compensation
 * (the account removed again) runs.
 */
import type pg from 'pg';
import type { LegacyPartner } from '../../domains/partners/legacy-partner.ts';
import type { LegacyPartnerStore } from '../../domains/partners/ports.ts';
import { transaction, translate } from './pg.ts';

const STORE = 'legacy partner store';

interface PartnerRow {
  id: string;
  tenant: string;
  name: string;
  status: LegacyPartner['status'];
  rate_per_second: number;
  max_queued: number;
  inbound_event_types: string[];
  password_hash: string;
  created_at: Date;
  updated_at: Date;
}

function partnerOf(r: PartnerRow): LegacyPartner {
  return {
    id: r.id,
    tenant: r.tenant,
    name: r.name,
    status: r.status,
    ratePerSecond: r.rate_per_second,
    maxQueued: r.max_queued,
    inboundEventTypes: r.inbound_event_types,
    passwordHash: r.password_hash,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

export function createPostgresPartnerStore(pool: pg.Pool): LegacyPartnerStore {
  const select = async (where: string, params: unknown[]): Promise<LegacyPartner[]> => {
    try {
      const res = await pool.query<PartnerRow>(`SELECT * FROM legacy_partners ${where}`, params);
      return res.rows.map(partnerOf);
    } catch (err) {
      throw translate(err, STORE);
    }
  };
  return {
    create(p, provision) {
      return transaction(pool, STORE, async (client) => {
        await client.query(
          `INSERT INTO legacy_partners (id, tenant, name, status, rate_per_second, max_queued, inbound_event_types,
             password_hash, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
          [
            p.id,
            p.tenant,
            p.name,
            p.status,
            p.ratePerSecond,
            p.maxQueued,
            p.inboundEventTypes,
            p.passwordHash,
            p.createdAt,
            p.updatedAt,
          ],
        );
        await provision();
      });
    },
    async get(tenant, id) {
      return (await select('WHERE id = $1 AND tenant = $2', [id, tenant]))[0];
    },
    async find(id) {
      return (await select('WHERE id = $1', [id]))[0];
    },
    list: (tenant) => select('WHERE tenant = $1 ORDER BY created_at, id', [tenant]),
    all: () => select('ORDER BY created_at, id', []),
    disable(tenant, id, now, revoke) {
      return transaction(pool, STORE, async (client) => {
        const res = await client.query<PartnerRow>(
          `UPDATE legacy_partners SET status = 'DISABLED', updated_at = $3 WHERE id = $1 AND tenant = $2 RETURNING *`,
          [id, tenant, now],
        );
        const row = res.rows[0];
        if (!row) return undefined;
        await revoke();
        return partnerOf(row);
      });
    },
  };
}
