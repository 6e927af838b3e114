/**
 * The baseline of the edge benchmarks: a bare Hono handler returning fixed bytes, on the
 * runtime that runs this file (Deno.serve on Deno, @hono/node-server on Node).
 * Environment: BENCH_PORT, BENCH_BODY (the exact bytes the edge returns on a hit), BENCH_HEADERS
 * (a JSON object of the response's headers; Content-Type alone by default).
 */
import { Hono } from 'hono';

declare const Deno:
  | {
      env: { get(name: string): string | undefined };
      serve(opts: { port: number; hostname: string }, h: (r: Request) => Response | Promise<Response>): unknown;
    }
  | undefined;

const env = (name: string) => (typeof Deno !== 'undefined' ? Deno.env.get(name) : process.env[name]);
const body = env('BENCH_BODY') ?? '{}';
const headers: Record<string, string> = JSON.parse(
  env('BENCH_HEADERS') ?? '{"content-type":"application/json; charset=utf-8"}',
);
const port = Number(env('BENCH_PORT') ?? 0);
const app = new Hono();
app.on(['GET', 'POST'], '/graphql', (c) => c.body(body, 200, headers));
app.get('/health', (c) => c.text('ok'));

if (typeof Deno !== 'undefined') {
  Deno.serve({ port, hostname: '127.0.0.1' }, app.fetch);
} else {
  const { serve } = await import('@hono/node-server');
  serve({ fetch: app.fetch, port, hostname: '127.0.0.1' });
}
