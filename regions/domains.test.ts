/**
 * How a domain plugs in, checked: the region-level machinery names no domain (a new domain
 * touches its own folders and the list in domains.ts), and every listed module is complete.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventRegistry } from '../infra/events/registry.ts';
import { DOMAINS } from './domains.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MACHINERY = [
  'regions/host',
  'regions/hub',
  'regions/start-all.ts',
  'regions/main.ts',
  'infra/events',
  'infra/outbox',
];

function files(entry: string): string[] {
  const full = path.join(ROOT, entry);
  if (statSync(full).isFile()) return [entry];
  return readdirSync(full).flatMap((name) => files(path.join(entry, name)));
}

describe('domain modules', () => {
  it('region machinery names no domain, in code, tests or comments', () => {
    const names = DOMAINS.map((d) => d.name);
    assert.ok(names.length > 0);
    const offenders: string[] = [];
    for (const file of MACHINERY.flatMap(files)) {
      const text = readFileSync(path.join(ROOT, file), 'utf8');
      for (const name of names) {
        if (new RegExp(`\\b${name}\\b`, 'i').test(text)) offenders.push(`${file} names ${name}`);
      }
    }
    assert.deepEqual(offenders, []);
  });

  it('each module has a unique name and its events have schemas and its name as prefix', () => {
    const registered = new Set(eventRegistry().types);
    const seen = new Set<string>();
    for (const d of DOMAINS) {
      assert.match(d.name, /^[a-z][a-z0-9-]*$/);
      assert.ok(!seen.has(d.name), `${d.name} listed twice`);
      seen.add(d.name);
      for (const type of d.events) {
        assert.ok(type.startsWith(`${d.name}.`), `${type} is not ${d.name}'s`);
        assert.ok(registered.has(type), `${type} has no schema under schemas/events/${d.name}/`);
      }
    }
  });

  it('per-field costs name each Type.field once across modules', () => {
    const owner = new Map<string, string>();
    for (const d of DOMAINS) {
      for (const [field, cost] of Object.entries(d.fieldCosts ?? {})) {
        assert.match(field, /^[A-Z][A-Za-z0-9]*\.[a-z_][A-Za-z0-9_]*$/, `${d.name}: ${field}`);
        assert.ok(Number.isInteger(cost) && cost >= 0, `${d.name}: ${field} costs ${cost}`);
        assert.ok(!owner.has(field), `${field} priced by ${owner.get(field)} and ${d.name}`);
        owner.set(field, d.name);
      }
    }
  });
});
