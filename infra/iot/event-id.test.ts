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

  it('are the same from the scratch buffer and for long names (a buffer of their own)', () => {
    const long = `telemetry/t1.${'x'.repeat(2000)}/1`;
    assert.match(uuidV5(long), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(uuidV5(long), uuidV5(`${long}0`));
    assert.equal(telemetryEventId('t1.sensor-1', 42), 'fd0638b5-f185-5001-a871-72e36183dafd', 'ids never change');
    assert.equal(uuidV5('telemetry/t1.sensor-ü/1'), uuidV5('telemetry/t1.sensor-ü/1'));
    assert.notEqual(uuidV5('telemetry/t1.sensor-ü/1'), uuidV5('telemetry/t1.sensor-u/1'), 'bytes, not chars');
  });

  it('payload hashes tell payloads apart, and never change (every bridge process compares them)', () => {
    assert.equal(payloadHash(Buffer.from('{"a":1}')), 'de3034b77cc1d846');
    assert.equal(payloadHash(Buffer.from('{"a":1}')), payloadHash(Buffer.from('{"a":1}')));
    assert.notEqual(payloadHash(Buffer.from('{"a":1}')), payloadHash(Buffer.from('{"a":2}')));
    assert.notEqual(payloadHash(Buffer.from('ab')), payloadHash(Buffer.from('ba')), 'order counts');
    assert.notEqual(payloadHash(Buffer.from('a')), payloadHash(Buffer.from('a\0')), 'length counts');
    const seen = new Set<string>();
    for (let seq = 0; seq < 50_000; seq++) seen.add(payloadHash(Buffer.from(`{"seq":${seq},"metrics":{"v":1}}`)));
    assert.equal(seen.size, 50_000, 'no collision among a device’s readings');
  });
});
