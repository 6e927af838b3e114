import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sha256HexSync } from './sha256.ts';

async function subtle(input: string | Uint8Array): Promise<string> {
  const data = typeof input === 'string' ? new TextEncoder().encode(input) : input;
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>));
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
}

describe('sha256 (plain JavaScript)', () => {
  it('matches the FIPS 180-4 examples', () => {
    assert.equal(sha256HexSync('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(sha256HexSync(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.equal(
      sha256HexSync('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'),
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  it('matches Web Crypto on every length around the block boundaries, text and bytes', async () => {
    for (let n = 0; n < 200; n++) {
      const bytes = new Uint8Array(n).map((_, i) => (i * 31 + n * 7) & 0xff);
      assert.equal(sha256HexSync(bytes), await subtle(bytes), `${n} bytes`);
    }
    for (const text of [
      'é',
      '日本語のテキスト',
      '😀 emoji',
      `{"query":"{ a }","variables":{"x":"ü"}}`,
      'x'.repeat(100_000),
    ]) {
      assert.equal(sha256HexSync(text), await subtle(text), text.slice(0, 20));
    }
  });
});
