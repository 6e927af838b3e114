/** Dependency direction of ARCHITECTURE.md, enforced in the test command. */
module.exports = {
  forbidden: [
    {
      name: 'domains-are-pure',
      comment: 'domains/ depends on nothing but schemas/ types and its own ports (no drivers, no infra).',
      severity: 'error',
      from: { path: '^domains/', pathNot: '\\.test\\.ts$' },
      to: { pathNot: ['^domains/', '^schemas/', '^node:', 'node_modules/@types/'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'domains-import-no-packages',
      comment: 'domains/ is pure business logic: no npm packages or Node built-ins.',
      severity: 'error',
      from: { path: '^domains/', pathNot: '\\.test\\.ts$' },
      to: { dependencyTypes: ['npm', 'npm-dev', 'core'] },
    },
    {
      name: 'edge-stands-alone',
      comment: 'edge/ is deployed apart: it may use schemas/ and nothing else of ours.',
      severity: 'error',
      from: { path: '^edge/' },
      to: { path: '^(subgraphs|bridges|domains|regions|infra|e2e)/' },
    },
    {
      name: 'only-shared-edge-modules',
      comment:
        'Outside edge/, production code may import from edge/ only what both ends must apply alike: the ' +
        'one web-standard JWT verifier (edge/auth/) and the GraphQL request limits and cost estimator ' +
        '(edge/graphql/limits, cost, operation, body, media-type), the metrics text, and the tracing pieces ' +
        'every process shares (edge/runtime: server spans, head sampling, tracing settings). Tests may reach other edge modules to ' +
        'check both ends of a wire (regions/host/feeds.test.ts drives the edge purge subscriber).',
      severity: 'error',
      from: { pathNot: ['^edge/', '\\.test\\.ts$'] },
      to: {
        path: '^edge/',
        pathNot: [
          '^edge/auth/',
          '^edge/graphql/(limits|cost|operation|body|media-type)\\.ts$',
          '^edge/metrics/metrics\\.ts$',
          '^edge/runtime/(server-spans|head-sampling|quiet-tracer|tracing-settings)\\.ts$',
        ],
      },
    },
    {
      name: 'schemas-are-leaves',
      severity: 'error',
      from: { path: '^schemas/' },
      to: { path: '^(edge|subgraphs|bridges|domains|regions|infra|e2e)/' },
    },
    {
      name: 'infra-below-composition',
      comment:
        'infra/ adapters never reach up into composition roots or protocol layers. The one exception: ' +
        'infra/telemetry starts the same tracing the edge starts on Deno, from the leaf modules the edge ' +
        'keeps for both (it may use nothing else of ours, so they live there).',
      severity: 'error',
      from: { path: '^infra/' },
      to: {
        path: '^(edge|subgraphs|bridges|regions|e2e)/',
        pathNot: '^edge/runtime/(head-sampling|quiet-tracer|tracing-settings)\\.ts$',
      },
    },
    {
      name: 'subgraphs-and-bridges-not-into-roots',
      severity: 'error',
      from: { path: '^(subgraphs|bridges)/' },
      to: { path: '^(regions|edge|e2e)/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^\\.stack/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
