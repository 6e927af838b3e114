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
import { changingTypes } from './host/feeds.ts';

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

  it('changingEvents names exactly the types changedEntities says a change for, and only those are read for it', () => {
    // Every field some module's changedEntities reads, so a type it handles cannot answer "nothing".
    const data = {
      orderId: 'o-1',
      userId: 'u-1',
      productId: 'p-1',
      items: [{ productId: 'p-1', quantity: 1 }],
      deviceId: 'd-1',
      rolloutId: 'r-1',
      postId: 'post-1',
      authorId: 'u-2',
      productIds: ['p-2'],
      followerId: 'u-3',
      followeeId: 'u-4',
      userIds: ['u-5'],
    };
    const read = new Set(changingTypes(DOMAINS.map((module) => ({ module }))));
    for (const d of DOMAINS) {
      if (!d.changedEntities) continue;
      const changing = new Set(d.changingEvents ?? d.events);
      for (const type of d.events) {
        const event = { id: 'e-1', type, source: `/regions/east/${d.name}`, subject: 'o-1', tenant: 't1', data };
        const entities: readonly unknown[] = d.changedEntities(event as never)?.entities ?? [];
        if (changing.has(type)) {
          assert.ok(entities.length > 0, `${type} is declared changing but changes nothing`);
          assert.ok(read.has(type), `${type} changes caches but the invalidation does not read it`);
        } else {
          assert.deepEqual(entities, [], `${type} changes ${JSON.stringify(entities)} but is not in changingEvents`);
          assert.ok(!read.has(type), `${type} changes nothing cached but the invalidation reads it`);
        }
      }
      for (const type of changing) assert.ok(d.events.includes(type), `${type} is not ${d.name}'s event`);
    }
  });
});
