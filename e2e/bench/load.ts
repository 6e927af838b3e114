/** A closed-loop load generator: `concurrency` workers call `fn` until the time is up. */
import { type Summary, summarize } from './stats.ts';

export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly seconds: number;
  readonly rps: number;
  readonly latency: Summary;
}

export async function runLoad(opts: {
  concurrency: number;
  durationMs: number;
  warmupMs?: number;
  fn: () => Promise<boolean>;
}): Promise<LoadResult> {
  const { concurrency, durationMs, fn } = opts;
  if (opts.warmupMs) {
    const until = performance.now() + opts.warmupMs;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < until) await fn().catch(() => false);
      }),
    );
  }
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const end = start + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        const ok = await fn().catch(() => false);
        latencies.push(performance.now() - t0);
        if (!ok) errors++;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  return {
    requests: latencies.length,
    errors,
    seconds,
    rps: latencies.length / seconds,
    latency: summarize(latencies),
  };
}

export function fmtLoad(r: LoadResult): string {
  const l = r.latency;
  return `${r.rps.toFixed(0)} req/s (${r.requests} in ${r.seconds.toFixed(1)}s, ${r.errors} errors) p50=${l.p50.toFixed(2)}ms p95=${l.p95.toFixed(2)}ms p99=${l.p99.toFixed(2)}ms`;
}
