/**
 * W3C Trace Context `traceparent` (https://www.w3.org/TR/trace-context/#traceparent-header):
 * "version-format = trace-id "-" parent-id "-" trace-flags", all lowercase hex.
 * Carried from HTTP requests into outbox rows, Kafka headers and on to consumers.
 */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
// Random bytes drawn 4 KiB at a time: every request makes a span id, and one getRandomValues call
// per id was a measurable share of a gateway request's CPU.
const pool = new Uint8Array(4096);
let used = pool.length;

function hex(bytes: number): string {
  if (used + bytes > pool.length) {
    crypto.getRandomValues(pool);
    used = 0;
  }
  let out = '';
  for (let i = used; i < used + bytes; i++) out += HEX[pool[i] as number];
  used += bytes;
  return out;
}

export interface TraceContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly flags: string;
}

/** Parses a traceparent; undefined for anything malformed or all-zero ids. */
export function parseTraceparent(value: string | null | undefined): TraceContext | undefined {
  const m = value ? TRACEPARENT.exec(value.trim()) : null;
  if (!m) return undefined;
  const [, traceId = '', spanId = '', flags = ''] = m;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, flags };
}

export function formatTraceparent(ctx: TraceContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.flags}`;
}

/** A new span in the same trace as `parent` (or a new sampled trace when there is none). */
export function childTraceparent(parent?: string | null): string {
  const ctx = parseTraceparent(parent);
  return formatTraceparent({ traceId: ctx?.traceId ?? hex(16), spanId: hex(8), flags: ctx?.flags ?? '01' });
}

/** The trace id of a traceparent, for logs and correlation. */
export function traceIdOf(traceparent: string | null | undefined): string | undefined {
  return parseTraceparent(traceparent)?.traceId;
}
