/**
 * The region's ops endpoints. `GET /ops/writer` is public (edges and the peer region poll
 * it: which region writes what is no secret); `PUT /ops/writer` moves the writer and needs the
 * region's ops bearer token (`MERIDIAN_OPS_TOKEN`), compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Hono } from 'hono';
import { isDomainError } from '../../domains/shared/errors.ts';
import { problem } from './problem.ts';
import type { WriterFence } from './writer-fence.ts';

const REGION = /^[a-z][a-z0-9-]{0,31}$/;
const MAX_BODY = 1024;

/** Compares secrets without leaking where (or in which length) they differ. */
function sameSecret(a: string, b: string): boolean {
  const h = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(h(a), h(b));
}

/** Ops routes over the region's writer fence; PUT is absent when no ops token is configured. */
export function opsRoutes(opts: { fence: WriterFence; token: string | undefined; regions: readonly string[] }): Hono {
  const app = new Hono();
  app.get('/ops/writer', (c) => {
    c.header('cache-control', 'no-store');
    return c.json({ leases: opts.fence.leases() });
  });
  if (opts.token === undefined) return app;
  const token = opts.token;
  app.put('/ops/writer', async function moveWriter(c) {
    const presented = /^bearer +(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    if (presented === undefined || !sameSecret(presented, token)) {
      c.header(
        'WWW-Authenticate',
        `Bearer realm="meridian-ops"${presented === undefined ? '' : ', error="invalid_token"'}`,
      );
      return problem(c, 401, 'Unauthorized', 'moving the writer needs the ops bearer token');
    }
    const text = await c.req.text();
    if (text.length > MAX_BODY) return problem(c, 400, 'Bad Request', `body: at most ${MAX_BODY} bytes`);
    let body: { region?: unknown; epoch?: unknown; aggregates?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      return problem(c, 400, 'Bad Request', 'body: JSON like {"region":"west","epoch":3}');
    }
    const { region, epoch, aggregates } = body ?? {};
    if (typeof region !== 'string' || !REGION.test(region) || !opts.regions.includes(region)) {
      return problem(c, 400, 'Bad Request', `region: one of ${opts.regions.join(', ')}`);
    }
    if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch < 1) {
      return problem(c, 400, 'Bad Request', 'epoch: a whole number ≥ 1, higher than the current one to move');
    }
    if (aggregates !== undefined && (!Array.isArray(aggregates) || !aggregates.every((a) => typeof a === 'string'))) {
      return problem(c, 400, 'Bad Request', 'aggregates: a list of names, or absent for all');
    }
    try {
      const leases = await opts.fence.propose(region, epoch, aggregates as string[] | undefined);
      const moved = leases.every((l) => l.writer === region && l.epoch === epoch);
      // 409 when a newer (or conflicting) lease is already held: the caller learns it and retries higher.
      return c.json({ leases, moved }, moved ? 200 : 409);
    } catch (err) {
      if (isDomainError(err, 'WRITER_CONFLICT')) return problem(c, 409, 'Conflict', err.message);
      if (isDomainError(err, 'BAD_USER_INPUT')) return problem(c, 400, 'Bad Request', err.message);
      throw err;
    }
  });
  return app;
}
