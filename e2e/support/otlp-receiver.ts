/**
 * A trace backend for tests: an OTLP/HTTP receiver that accepts JSON (the encoding the Node
 * exporter sends, and Deno's with OTEL_EXPORTER_OTLP_PROTOCOL=http/json) on /v1/traces and keeps
 * the spans. OTLP spec: "The server MUST respond with HTTP 200 OK" and a (possibly empty)
 * Export*ServiceResponse; other signals (logs, metrics) are accepted and dropped.
 */
import http from 'node:http';
import type net from 'node:net';

export interface ReceivedSpan {
  readonly service: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  readonly kind: number;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
}

export interface OtlpReceiver {
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string;
  /** The spans received (none kept when started with `keep: false`). */
  spans(): readonly ReceivedSpan[];
  /** How many spans were received, kept or not. */
  count(): number;
  close(): Promise<void>;
}

interface AnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}
interface KeyValue {
  key: string;
  value?: AnyValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  attributes?: KeyValue[];
}
interface ExportTraceServiceRequest {
  resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[];
}

function value(v: AnyValue | undefined): string | number | boolean {
  if (v?.stringValue !== undefined) return v.stringValue;
  if (v?.intValue !== undefined) return Number(v.intValue);
  if (v?.doubleValue !== undefined) return v.doubleValue;
  if (v?.boolValue !== undefined) return v.boolValue;
  return '';
}

function attributes(list: KeyValue[] | undefined): Record<string, string | number | boolean> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, value(kv.value)]));
}

/** Decodes one ExportTraceServiceRequest (JSON encoding: ids are hex strings). */
export function decodeTraces(body: ExportTraceServiceRequest): ReceivedSpan[] {
  return (body.resourceSpans ?? []).flatMap((rs) => {
    const service = String(attributes(rs.resource?.attributes)['service.name'] ?? '');
    return (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((s) => ({
        service,
        traceId: s.traceId.toLowerCase(),
        spanId: s.spanId.toLowerCase(),
        parentSpanId: s.parentSpanId ? s.parentSpanId.toLowerCase() : undefined,
        name: s.name,
        kind: s.kind ?? 0,
        attributes: attributes(s.attributes),
      })),
    );
  });
}

/** The spans in an OTLP/JSON body, counted without decoding it (each span has one "spanId" key). */
function countSpans(text: string): number {
  let n = 0;
  for (let at = text.indexOf('"spanId"'); at >= 0; at = text.indexOf('"spanId"', at + 8)) n++;
  return n;
}

/**
 * Starts the receiver on a free local port. `keep: false` (benchmarks) only counts the spans, so
 * that the receiver, sharing the machine with the servers measured, costs them as little as a
 * collector elsewhere would.
 */
export async function startOtlpReceiver(opts: { keep?: boolean } = {}): Promise<OtlpReceiver> {
  const keep = opts.keep ?? true;
  const received: ReceivedSpan[] = [];
  let count = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST') {
        res.writeHead(405).end();
        return;
      }
      if (req.url === '/v1/traces') {
        if (!/json/.test(req.headers['content-type'] ?? '')) {
          res.writeHead(415, { 'content-type': 'text/plain' }).end('this receiver takes OTLP/JSON');
          return;
        }
        try {
          const text = Buffer.concat(chunks).toString('utf8');
          if (keep) {
            const spans = decodeTraces(JSON.parse(text));
            received.push(...spans);
            count += spans.length;
          } else count += countSpans(text);
        } catch {
          res.writeHead(400).end();
          return;
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans: () => received,
    count: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
