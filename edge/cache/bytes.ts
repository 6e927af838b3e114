/** Byte accounting for the cache budgets, without allocating an encoded copy of every string. */

/** UTF-8 byte length of `text` (what TextEncoder would produce), computed in one pass. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      // A surrogate pair is one code point of four bytes; a lone surrogate becomes U+FFFD (three).
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** Bytes a body occupies: its length as bytes, or its UTF-8 length as text. */
export function bodyLength(body: Uint8Array | string): number {
  return typeof body === 'string' ? utf8Length(body) : body.byteLength;
}
