/** The test trace backend: keeps what it is sent, or (for benchmarks) only counts it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startOtlpReceiver } from './otlp-receiver.ts';

const span = (id: string, parent?: string) => ({
  traceId: '0123456789ABCDEF0123456789ABCDEF',
  spanId: id,
  ...(parent ? { parentSpanId: parent } : {}),
  name: `span ${id}`,
  kind: 2,
  attributes: [{ key: 'http.response.status_code', value: { intValue: '200' } }],
});
const body = JSON.stringify({
  resourceSpans: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
      scopeSpans: [
        { spans: [span('00000000000000AA'), span('00000000000000BB', '00000000000000AA')] },
        { spans: [span('00000000000000CC')] },
      ],
    },
  ],
});

describe('OTLP/JSON receiver', () => {
  for (const keep of [true, false]) {
    it(keep ? 'keeps and decodes every span' : 'counts every span without keeping it', async () => {
      const receiver = await startOtlpReceiver({ keep });
      try {
        const res = await fetch(`${receiver.url}/v1/traces`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        assert.equal(res.status, 200);
        assert.equal(receiver.count(), 3);
        if (keep) {
          assert.deepEqual(
            receiver
              .spans()
              .map((s) => [s.service, s.spanId, s.parentSpanId, s.attributes['http.response.status_code']]),
            [
              ['svc', '00000000000000aa', undefined, 200],
              ['svc', '00000000000000bb', '00000000000000aa', 200],
              ['svc', '00000000000000cc', undefined, 200],
            ],
          );
        } else assert.deepEqual(receiver.spans(), []);
        const refused = await fetch(`${receiver.url}/v1/traces`, { method: 'POST', body: 'x' });
        assert.equal(refused.status, 415, 'OTLP/JSON only');
      } finally {
        await receiver.close();
      }
    });
  }
});
