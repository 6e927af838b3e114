import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { payloadHash, telemetryEventId, uuidV5 } from './event-id.ts';

describe('derived event ids', () => {
  it('are RFC 9562 version 5 UUIDs, the same for the same name', () => {
    const id = telemetryEventId('t1.sensor-1', 42);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(telemetryEventId('t1.sensor-1', 42), id);
    assert.notEqual(telemetryEventId('t1.sensor-1', 43), id);
    assert.notEqual(telemetryEventId('t2.sensor-1', 42), id, 'the same device id in another tenant is another device');
  });

  it('follow RFC 9562 (its test vector: "www.example.com" in the DNS namespace)', () => {
    assert.equal(
      uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'),
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
  });

  it('payload hashes tell payloads apart', () => {
    assert.equal(payloadHash(Buffer.from('{"a":1}')), payloadHash(Buffer.from('{"a":1}')));
    assert.notEqual(payloadHash(Buffer.from('{"a":1}')), payloadHash(Buffer.from('{"a":2}')));
  });
});
