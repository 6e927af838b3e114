import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { uuidV5 } from './ids.ts';

describe('chat ids', () => {
  it("derives RFC 9562 version 5 UUIDs (the RFC's own example), stable per name", () => {
    // RFC 9562 Appendix A.4: name "www.example.com" in the DNS namespace.
    assert.equal(
      uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'),
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
    assert.equal(uuidV5('a'), uuidV5('a'));
    assert.notEqual(uuidV5('a'), uuidV5('b'));
    assert.match(uuidV5('x'), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
