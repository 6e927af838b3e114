/**
 * A closed-loop HTTP load generator meant to run as its own process, so the load it makes is
 * not paid for by the server's CPU (and its own CPU can be reported beside the server's).
 * `node e2e/bench/http-load.ts '<json spec>'` prints one JSON line: requests, errors, seconds,
 * rps, latency percentiles (ms) and the generator's CPU time (ms).
 * Keep-alive `node:http` (no fetch): a fetch costs the generator several times more CPU per request.
 */
import http from 'node:http';
import { summarize } from './stats.ts';

/** What to send: `concurrency` connections for `durationMs`, each request with the next headers set (round robin). */
export interface LoadSpec {
  readonly url: string;
  readonly method: 'GET' | 'POST';
  readonly body?: string;
  /** One header set per simulated client, used in turn. */
  readonly headers: ReadonlyArray<Record<string, string>>;
  readonly concurrency: number;
  readonly durationMs: number;
  readonly warmupMs?: number;
}

/** What a run measured. */
export interface LoadReport {
  readonly requests: number;
  readonly errors: number;
  /** What the errors were: HTTP status (or `connection`) → count, and the first error body. */
  readonly errorsBy: Readonly<Record<string, number>>;
  readonly firstError?: string;
  readonly seconds: number;
  readonly rps: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly cpuMs: number;
}

async function run(spec: LoadSpec): Promise<LoadReport> {
  const url = new URL(spec.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.concurrency });
  let turn = 0;
  const errorsBy: Record<string, number> = {};
  let firstError: string | undefined;
  const failed = (what: string, body?: string) => {
    errorsBy[what] = (errorsBy[what] ?? 0) + 1;
    firstError ??= `${what} ${body ?? ''}`.slice(0, 300);
    return false;
  };
  const once = () =>
    new Promise<boolean>((resolve) => {
      const headers = spec.headers[turn++ % spec.headers.length] ?? {};
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: `${url.pathname}${url.search}`,
          method: spec.method,
          agent,
          headers,
        },
        (res) => {
          const ok = res.statusCode === 200;
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => {
            if (!ok && firstError === undefined) chunks.push(chunk);
          });
          res.on('end', () => resolve(ok || failed(String(res.statusCode), Buffer.concat(chunks).toString('utf8'))));
        },
      );
      req.on('error', (err) => resolve(failed('connection', err.message)));
      req.end(spec.body);
    });
  const loop = async (until: number, latencies?: number[], failures?: { n: number }) => {
    while (performance.now() < until) {
      const t0 = performance.now();
      const ok = await once();
      latencies?.push(performance.now() - t0);
      if (!ok && failures) failures.n++;
    }
  };
  if (spec.warmupMs) {
    const until = performance.now() + spec.warmupMs;
    await Promise.all(Array.from({ length: spec.concurrency }, () => loop(until)));
  }
  const latencies: number[] = [];
  const failures = { n: 0 };
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  await Promise.all(Array.from({ length: spec.concurrency }, () => loop(start + spec.durationMs, latencies, failures)));
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  agent.destroy();
  const s = summarize(latencies);
  return {
    requests: latencies.length,
    errors: failures.n,
    errorsBy,
    ...(firstError === undefined ? {} : { firstError }),
    seconds,
    rps: latencies.length / seconds,
    p50: s.p50,
    p95: s.p95,
    p99: s.p99,
    cpuMs: (cpu.user + cpu.system) / 1000,
  };
}

if (import.meta.main) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
  process.stdout.write(`${JSON.stringify(await run(spec))}\n`);
}
