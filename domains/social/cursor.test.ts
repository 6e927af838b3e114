import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rejectsWith } from '../shared/testing.ts';
import { newestFirst, parsePostCursor, parseUserCursor, postCursor, userCursor } from './cursor.ts';

const key = { createdAt: '2030-01-01T00:00:00.000Z', id: '0f8b5a4e-1c2d-4e3f-8a9b-0c1d2e3f4a5b' };
const b64 = (s: string) => Buffer.from(s).toString('base64url');

describe('cursors', () => {
  it('round-trip post and user keys, and no cursor is no key', () => {
    assert.deepEqual(parsePostCursor(postCursor(key)), key);
    assert.equal(parseUserCursor(userCursor('auth0|a.b@c')), 'auth0|a.b@c');
    assert.equal(parsePostCursor(undefined), undefined);
    assert.equal(parseUserCursor(null), undefined);
    assert.match(postCursor(key), /^[A-Za-z0-9_-]+$/, 'URL-safe, no padding');
  });

  it('refuses forged cursors, operator-shaped ones included, with BAD_USER_INPUT naming the field', () => {
    const forged = [
      '',
      'not base64!',
      b64('{"$gt":""}'),
      b64(JSON.stringify([{ $gt: '' }, key.id])),
      b64(JSON.stringify([key.createdAt, { $ne: null }])),
      b64(JSON.stringify([key.createdAt, key.id, 'extra'])),
      b64(JSON.stringify(['yesterday', key.id])),
      b64(JSON.stringify([key.createdAt, 'not-a-uuid'])),
      'A'.repeat(600),
    ];
    for (const c of forged)
      assert.throws(() => parsePostCursor(c), rejectsWith('BAD_USER_INPUT', { field: 'after' }), c);
    assert.throws(() => parseUserCursor(b64(JSON.stringify(['$where']))), rejectsWith('BAD_USER_INPUT'));
    assert.throws(() => parseUserCursor(b64(JSON.stringify([{ $gt: '' }]))), rejectsWith('BAD_USER_INPUT'));
  });

  it('orders newest first, then by id descending', () => {
    const a = { createdAt: '2030-01-02T00:00:00.000Z', id: '00000000-0000-4000-8000-000000000001' };
    const b = { createdAt: '2030-01-01T00:00:00.000Z', id: 'ffffffff-0000-4000-8000-000000000001' };
    const c = { createdAt: '2030-01-01T00:00:00.000Z', id: '00000000-0000-4000-8000-000000000002' };
    assert.deepEqual([c, a, b].sort(newestFirst), [a, b, c]);
  });
});
