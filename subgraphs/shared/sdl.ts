/** A subgraph's SDL, read once from `schemas/subgraphs/<name>.graphql` (the file composition reads too). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function subgraphSdl(name: string): string {
  return readFileSync(fileURLToPath(new URL(`../../schemas/subgraphs/${name}.graphql`, import.meta.url)), 'utf8');
}
