/** The bridge's Kafka request splitting (byteChunks): in order, within the limit, nothing dropped. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { byteChunks } from './bridge.ts';

const rec = (n: number, bytes: number) => ({
  topic: 't',
  message: { key: `k${n}`, value: 'x'.repeat(bytes), headers: { ce_id: String(n) } },
});

describe('byteChunks', () => {
  it('splits in order into requests within the limit', () => {
    const records = Array.from({ length: 50 }, (_, n) => rec(n, 300 + (n % 7) * 50));
    const chunks = byteChunks(records, 2000);
    assert.ok(chunks.length > 5, `${chunks.length} chunks`);
    assert.deepEqual(chunks.flat(), records, 'every record once, in order');
    for (const c of chunks) {
      const values = c.reduce((n, r) => n + r.message.value.length, 0);
      assert.ok(c.length >= 1 && values <= 2000, `${values} bytes of values in a chunk`);
    }
  });

  it('a record above the limit goes alone; none gives no request', () => {
    const records = [rec(0, 10), rec(1, 5000), rec(2, 10)];
    assert.deepEqual(
      byteChunks(records, 1000).map((c) => c.map((r) => r.message.key)),
      [['k0'], ['k1'], ['k2']],
    );
    assert.deepEqual(byteChunks([], 1000), []);
  });
});
