/**
 * Structured logs: one JSON object per line (time, level, service, message, and the trace and
 * span ids of the active span, so a log line leads to its trace), with secrets masked — by
 * field name (authorization, token, secret, password, cookie, api key) and by shape inside any
 * string (a JWT, a `Bearer …` credential, a `whsec_` webhook secret, a URL's password).
 */
import { currentIds, currentTelemetry } from './context.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger that adds `fields` to every line. */
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  readonly service: string;
  readonly level?: LogLevel;
  /** Where lines go; stdout by default. */
  readonly write?: (line: string) => void;
  readonly fields?: Record<string, unknown>;
  readonly now?: () => Date;
}

const SECRET_KEY = /authori[sz]ation|token|secret|password|passwd|cookie|api[-_]?key|credential/i;
const MASK = '[masked]';
const SECRET_SHAPES: ReadonlyArray<[RegExp, string]> = [
  // JWS compact serialisation: three base64url parts, the first a JSON header ("eyJ").
  [/eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, MASK],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9\-._~+/]+=*/gi, `$1 ${MASK}`],
  [/\bwhsec_[A-Za-z0-9+/=]+/g, MASK],
  // userinfo of a URL: scheme://user:password@host
  [/([a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:)[^@\s/]+@/gi, `$1${MASK}@`],
];

/** A string with every secret-shaped part masked. */
export function maskString(value: string): string {
  let out = value;
  for (const [pattern, replacement] of SECRET_SHAPES) out = out.replace(pattern, replacement);
  return out;
}

/** A copy of `value` safe to log: secret fields and secret-shaped strings masked, errors flattened. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskString(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 6) return '[deep]';
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { name: value.name, message: maskString(value.message), ...(code === undefined ? {} : { code }) };
  }
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? MASK : redact(v, depth + 1);
  return out;
}

/** Creates a JSON-lines logger. */
export function createLogger(opts: LoggerOptions): Logger {
  const min = ORDER[opts.level ?? 'info'];
  const write = opts.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const now = opts.now ?? (() => new Date());
  const base = opts.fields ?? {};
  function log(level: LogLevel, message: string, fields: Record<string, unknown> = {}): void {
    if (ORDER[level] < min) return;
    const ids = currentIds();
    const correlation = currentTelemetry()?.correlationId;
    const line = {
      time: now().toISOString(),
      level,
      service: opts.service,
      message: maskString(message),
      ...(ids ? { trace_id: ids.traceId, span_id: ids.spanId } : {}),
      ...(correlation ? { correlation_id: correlation } : {}),
      ...(redact({ ...base, ...fields }) as Record<string, unknown>),
    };
    write(JSON.stringify(line));
  }
  return {
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    child: (fields) => createLogger({ ...opts, fields: { ...base, ...fields } }),
  };
}
