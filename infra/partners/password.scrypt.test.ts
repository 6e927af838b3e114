import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scryptHasher } from './password.scrypt.ts';

describe('scrypt password hasher', () => {
  it('verifies the password it hashed, and nothing else', async () => {
    const hash = await scryptHasher.hash('s3cret');
    assert.match(hash, /^scrypt\$16384\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    assert.notEqual(await scryptHasher.hash('s3cret'), hash, 'salted');
    assert.equal(await scryptHasher.verify('s3cret', hash), true);
    assert.equal(await scryptHasher.verify('s3cret ', hash), false);
    assert.equal(await scryptHasher.verify('s3cret', 'garbage'), false);
  });

  it('an unknown user (no hash) costs a derivation too and is refused', async () => {
    const t0 = performance.now();
    assert.equal(await scryptHasher.verify('anything', undefined), false);
    assert.ok(performance.now() - t0 > 1, 'a real derivation ran');
  });
});
