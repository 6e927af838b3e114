import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nameUuid, SOCIAL_NAMESPACE } from './name-uuid.ts';

describe('nameUuid', () => {
  it('matches the RFC 9562 version-5 example (DNS namespace, www.example.com)', () => {
    // RFC 9562 Appendix A.4.
    assert.equal(
      nameUuid('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'),
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
  });

  it('is stable per name and differs between names', () => {
    assert.equal(nameUuid('a'), nameUuid('a', SOCIAL_NAMESPACE));
    assert.notEqual(nameUuid('a'), nameUuid('b'));
    assert.match(nameUuid('x'), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
