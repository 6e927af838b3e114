/**
 * The region gateway (regions/graphql/graphql-app.ts `gatewayApp`, with the domain modules' field
 * costs, as the region host builds it) alone in a process, over subgraphs running elsewhere, so
 * the gateway benchmark reads the gateway's own CPU. Environment: BENCH_PORT, BENCH_SUBGRAPH_URL
 * (commerce), BENCH_JWKS_URL (the issuer's keys), BENCH_ROOT (the checkout whose gateway runs;
 * this one by default).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import { REPO_ROOT } from '../../infra/stack/paths.ts';

const root = process.env.BENCH_ROOT || REPO_ROOT;
const from = (file: string) => pathToFileURL(path.join(root, file)).href;
const { gatewayApp } = (await import(from('regions/graphql/graphql-app.ts'))) as {
  gatewayApp: (
    sdl: string,
    urls: Record<string, string>,
    verify: (authorization: string) => Promise<unknown>,
    options: { fieldCosts?: Record<string, number> },
  ) => Promise<{ app: Hono }>;
};
const { createTokenVerifier } = (await import(from('regions/identity/verifier.ts'))) as {
  createTokenVerifier: (o: { issuer: string; audience: string; jwks: { url: string } }) => {
    verify: (authorization: string) => Promise<unknown>;
  };
};
const { DOMAINS } = (await import(from('regions/domains.ts'))) as {
  DOMAINS: ReadonlyArray<{ fieldCosts?: Record<string, number> }>;
};

const env = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};
const verifier = createTokenVerifier({
  issuer: 'meridian-dev',
  audience: 'meridian',
  jwks: { url: env('BENCH_JWKS_URL') },
});
const supergraph = readFileSync(path.join(root, 'schemas/supergraph.graphql'), 'utf8');
// The benchmarked queries are commerce's; the other subgraphs get an address nothing answers
// on (the gateway only calls the subgraphs a query plan names).
const urls = Object.fromEntries(
  [...supergraph.matchAll(/join__graph\(name: "([^"]+)"/g)].map(([, name]) => [
    name,
    name === 'commerce' ? env('BENCH_SUBGRAPH_URL') : 'http://127.0.0.1:9/graphql',
  ]),
);
const gateway = await gatewayApp(supergraph, urls, (authorization) => verifier.verify(authorization), {
  fieldCosts: Object.assign({}, ...DOMAINS.map((d) => d.fieldCosts ?? {})),
});
gateway.app.get('/health', (c) => c.text('ok'));
// Under register.ts the gateway makes its own server spans, as regions/host/http.ts does.
const spans = (await import(from('edge/runtime/server-spans.ts'))) as {
  appServerSpans?: () => boolean;
  withServerSpans: (h: Hono['fetch'], opts?: { tracerName?: string }) => Hono['fetch'];
};
const fetch = spans.appServerSpans?.()
  ? spans.withServerSpans(gateway.app.fetch, { tracerName: 'meridian-region' })
  : gateway.app.fetch;
const server = serve({ fetch, port: Number(env('BENCH_PORT')), hostname: '127.0.0.1' });
process.once('SIGTERM', () => {
  server.close();
  process.exit(0);
});
