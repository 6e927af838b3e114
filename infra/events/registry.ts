/**
 * The event schema registry: every JSON Schema under schemas/events, chosen by the envelope's
 * `type`. Checked when an event is produced and when it is consumed; an unknown type is invalid.
 * Each type's validator is compiled on its first use and kept: compiling all of them cost every
 * process that loads the registry about 0.6 s of CPU at start, for types most never see
 * (registry.test.ts compiles every one).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { DomainError } from '../../domains/shared/errors.ts';
import type { Envelope } from './envelope.ts';

export const EVENT_SCHEMAS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../schemas/events');
const ENVELOPE_ID = 'https://meridian.dev/schemas/events/envelope.v1.json';

// ajv-formats is CommonJS; its callable export sits on `default` under ESM.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

function schemaFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? schemaFiles(path.join(dir, e.name)) : e.name.endsWith('.json') ? [path.join(dir, e.name)] : [],
  );
}

export interface EventRegistry {
  /** Event types with a schema, e.g. `<domain>.<context>.<event>.v1`. */
  readonly types: readonly string[];
  /** Throws INVALID_EVENT (not retryable) with every schema violation in the message. */
  assertValid(value: unknown): asserts value is Envelope;
}

/** The schemas of one or more folders (the repo's, plus a test folder), one validator per event type. */
export function loadEventRegistry(dirs: string | readonly string[] = EVENT_SCHEMAS_DIR): EventRegistry {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats(ajv);
  /** Schema id by event type (ajv compiles a schema on its first getSchema, and keeps it). */
  const idOf = new Map<string, string>();
  const files = (typeof dirs === 'string' ? [dirs] : dirs).flatMap((d) => schemaFiles(d));
  const docs = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>);
  for (const doc of docs) ajv.addSchema(doc);
  for (const [i, doc] of docs.entries()) {
    const type = (doc.properties as { type?: { const?: string } } | undefined)?.type?.const;
    if (!type) continue;
    if (idOf.has(type)) throw new Error(`two schemas describe event type ${type} (one is ${files[i]})`);
    idOf.set(type, doc.$id as string);
  }
  const validatorOf = (type: string): ValidateFunction | undefined => {
    const id = idOf.get(type);
    return id === undefined ? undefined : (ajv.getSchema(id) as ValidateFunction);
  };
  return {
    types: [...idOf.keys()].sort(),
    assertValid(value: unknown): asserts value is Envelope {
      const type = (value as { type?: unknown } | null)?.type;
      const validate = typeof type === 'string' ? validatorOf(type) : undefined;
      if (!validate) {
        const envelopeCheck = ajv.getSchema(ENVELOPE_ID) as ValidateFunction;
        const envelopeErrors = envelopeCheck(value) ? '' : ` (${ajv.errorsText(envelopeCheck.errors)})`;
        throw new DomainError('INVALID_EVENT', `no schema for event type ${JSON.stringify(type)}${envelopeErrors}`);
      }
      if (!validate(value)) {
        throw new DomainError('INVALID_EVENT', `${type} violates its schema: ${ajv.errorsText(validate.errors)}`, {
          details: { errors: validate.errors },
        });
      }
    },
  };
}

let shared: EventRegistry | undefined;
/** The registry of this repo's schemas, loaded on first use. */
export function eventRegistry(): EventRegistry {
  shared ??= loadEventRegistry();
  return shared;
}
