/**
 * What a SOAP request must not carry, refused before any XML parser sees it: a document type
 * declaration (and with it every entity declaration: external entities — XXE — and nested
 * expansions — "billion laughs"), a body over the size limit, or an encoding other than UTF-8.
 *
 * Why not trust the parser: `soap` parses with sax in strict mode, which never expands entities —
 * but it does not refuse a DOCTYPE either (a request with one is processed as if it were not
 * there), and an undeclared entity reference becomes an "Invalid XML" fault whose faultcode ("500")
 * is not a SOAP 1.1 one. Refusing the declaration outright is simpler and leaves nothing to the
 * parser's defaults. SOAP 1.1 §3: "A SOAP message MUST NOT contain a Document Type Declaration."
 */

export const MAX_SOAP_BYTES = 64 * 1024;

export type XmlRefusal = { readonly code: 'XML_FORBIDDEN' | 'PAYLOAD_TOO_LARGE'; readonly reason: string };

/** Why the body must not be parsed, or undefined when it may be. */
export function screenXml(body: Buffer, maxBytes = MAX_SOAP_BYTES): XmlRefusal | undefined {
  if (body.length > maxBytes) return { code: 'PAYLOAD_TOO_LARGE', reason: `request larger than ${maxBytes} bytes` };
  // UTF-16/32 byte order marks (or NUL bytes) would hide a DOCTYPE from a byte-level check.
  if ((body[0] === 0xfe && body[1] === 0xff) || (body[0] === 0xff && body[1] === 0xfe) || body.includes(0)) {
    return { code: 'XML_FORBIDDEN', reason: 'only UTF-8 requests are accepted' };
  }
  const text = body.toString('utf8');
  if (/<!DOCTYPE/i.test(text)) return { code: 'XML_FORBIDDEN', reason: 'a document type declaration is not allowed' };
  if (/<!ENTITY/i.test(text)) return { code: 'XML_FORBIDDEN', reason: 'entity declarations are not allowed' };
  return undefined;
}
