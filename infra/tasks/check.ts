/** Static checks: type check, formatter + linter, dependency direction. */
import path from 'node:path';
import { REPO_ROOT } from '../stack/paths.ts';
import { type StepResult, step } from './run.ts';

const bin = (name: string) => path.join(REPO_ROOT, 'node_modules', '.bin', name);
export const SOURCE_DIRS = ['edge', 'subgraphs', 'bridges', 'domains', 'regions', 'schemas', 'infra', 'e2e'];

export async function checks(): Promise<StepResult[]> {
  return [
    await step('type check (tsc --noEmit)', bin('tsc'), ['-p', '.']),
    await step('format + lint (biome)', bin('biome'), ['check', '.']),
    await step('edge Deno entry point (deno check)', bin('deno'), ['check', 'edge/main.deno.ts']),
    await step('supergraph composition (@apollo/composition)', process.execPath, ['schemas/compose.ts', '--check']),
    await step('dependency direction (dependency-cruiser)', bin('depcruise'), [
      '--config',
      '.dependency-cruiser.cjs',
      ...SOURCE_DIRS,
    ]),
  ];
}

if (import.meta.main) {
  const results = await checks();
  process.exitCode = results.every((r) => r.ok) ? 0 : 1;
}
