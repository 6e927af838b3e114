/**
 * SHA-256, the one hash the edge uses for keys, ETags and APQ. Computed synchronously in
 * JavaScript (sha256.ts): Web Crypto's digest is asynchronous and, for the short strings hashed
 * here, mostly overhead. The async signature stays for callers written against Web Crypto.
 */
import { sha256HexSync } from './sha256.ts';

export { sha256HexSync } from './sha256.ts';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lower-case hex of the bytes. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += HEX[byte];
  return out;
}

/** Lower-case hex SHA-256 of a string (UTF-8) or of bytes. */
export async function sha256Hex(input: string | Uint8Array): Promise<string> {
  return sha256HexSync(input);
}
