/** Static checks: type check, formatter + linter, dependency direction. */
import { globSync } from 'node:fs';
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
    // Run by this Node (24): the bin's shebang would pick whatever `node` is first on PATH.
    await step('dependency direction (dependency-cruiser)', process.execPath, [
      path.join(REPO_ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruiser.mjs'),
      '--config',
      '.dependency-cruiser.cjs',
      // A folder with no code yet (git keeps no empty folders) has nothing to check.
      ...SOURCE_DIRS.filter((dir) => globSync(`${dir}/**/*.ts`, { cwd: REPO_ROOT }).length > 0),
    ]),
  ];
}

if (import.meta.main) {
  const results = await checks();
  process.exitCode = results.every((r) => r.ok) ? 0 : 1;
}
