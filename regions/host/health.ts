/**
 * Liveness and readiness of a region process. /health answers while the process runs;
 * /ready round-trips every dependency and asks every service of the region's manager, and
 * answers 503 naming whichever dependency is down or service is not running.
 */
import { Hono } from 'hono';
import type { Dependency } from '../../infra/adapters/dependency.ts';
import { withTimeout } from '../../infra/adapters/dependency.ts';
import type { ServiceManager, ServiceStatus } from './services.ts';

export interface DependencyState {
  readonly ok: boolean;
  readonly version?: string;
  readonly error?: string;
  readonly ms: number;
}

/** Pings each dependency in parallel, each within `timeoutMs`. */
export async function readiness(
  deps: readonly Dependency[],
  timeoutMs = 2000,
): Promise<Record<string, DependencyState>> {
  const entries = await Promise.all(
    deps.map(async (d): Promise<[string, DependencyState]> => {
      const t0 = performance.now();
      const ms = () => Math.round(performance.now() - t0);
      try {
        const version = await withTimeout(d.ping(), timeoutMs, `${d.name} ping`);
        return [d.name, { ok: true, version, ms: ms() }];
      } catch (err) {
        return [d.name, { ok: false, error: (err as Error).message || String(err), ms: ms() }];
      }
    }),
  );
  return Object.fromEntries(entries);
}

/** What /ready checks. */
export interface ReadinessChecks {
  readonly dependencies: readonly Dependency[];
  readonly services?: Pick<ServiceManager, 'status'>;
}

/** Liveness (`/health`, with `about()`'s facts, e.g. the writer leases) and readiness (`/ready`). */
export function healthRoutes(
  region: string,
  checks: ReadinessChecks,
  about: () => Record<string, unknown> = () => ({}),
): Hono {
  const started = Date.now();
  const app = new Hono();
  app.get('/health', (c) =>
    c.json({ status: 'ok', region, uptimeSeconds: Math.round((Date.now() - started) / 1000), ...about() }),
  );
  app.get('/ready', async (c) => {
    const unanswered = (err: unknown): Record<string, ServiceStatus> => ({
      services: { state: 'running', ok: false, detail: (err as Error).message },
    });
    const [dependencies, services] = await Promise.all([
      readiness(checks.dependencies),
      checks.services
        ? withTimeout(checks.services.status(), 2000, 'service checks').catch(unanswered)
        : ({} as Record<string, ServiceStatus>),
    ]);
    const ready = Object.values(dependencies).every((d) => d.ok) && Object.values(services).every((s) => s.ok);
    return c.json({ status: ready ? 'ready' : 'not-ready', region, dependencies, services }, ready ? 200 : 503);
  });
  return app;
}
