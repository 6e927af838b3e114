/**
 * Made-up events for tests of the event machinery (registry, codec, outbox, relay), so those
 * tests name no domain and never write to a domain's topics. Schemas: infra/events/testing/.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DomainEvent } from '../../domains/shared/events.ts';
import { EVENT_SCHEMAS_DIR, type EventRegistry, loadEventRegistry } from './registry.ts';

export const TESTING_EVENTS = {
  created: 'testing.thing.created.v1',
  changed: 'testing.thing.changed.v1',
  noted: 'testing.thing.noted.v1',
} as const;

export type TestingEventType = (typeof TESTING_EVENTS)[keyof typeof TESTING_EVENTS];

const TESTING_SCHEMAS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testing');

let shared: EventRegistry | undefined;
/** The repo's schemas plus the testing events'. */
export function testingRegistry(): EventRegistry {
  shared ??= loadEventRegistry([EVENT_SCHEMAS_DIR, TESTING_SCHEMAS_DIR]);
  return shared;
}

/** A testing event about thing `thingId` (the aggregate), at `step` of its life. */
export function thingEvent(
  type: TestingEventType,
  thingId: string,
  tenant: string,
  step: number,
  note?: string,
): DomainEvent<TestingEventType, { thingId: string; step: number; note?: string }> {
  return { type, subject: thingId, tenant, data: { thingId, step, ...(note === undefined ? {} : { note }) } };
}
