/**
 * Reading a request body under a size limit, shared by the edge's request parser and the region
 * gateway, so both refuse the same bodies with the same answer: 413 with a GraphQL error whose
 * code is PAYLOAD_TOO_LARGE.
 */

/** Code in `errors[].extensions.code` of a body over the limit. */
export const PAYLOAD_TOO_LARGE = 'PAYLOAD_TOO_LARGE';

/** The error message for a body over `maxBytes`. */
export function payloadTooLargeMessage(maxBytes: number): string {
  return `The request body exceeds ${maxBytes} bytes.`;
}

/** Reads at most `max` bytes of the body; undefined when it is longer (the rest is not read). */
export async function readBodyWithin(request: Request, max: number): Promise<Uint8Array | undefined> {
  const length = request.headers.get('content-length');
  const declared = Number(length);
  if (declared > max) {
    await request.body?.cancel().catch(() => {});
    return undefined;
  }
  // A declared length within the limit, without chunking: the runtime's HTTP parser frames the body
  // by that length, so reading it whole is bounded, and much cheaper than a chunk loop (on
  // @hono/node-server it reads the socket directly; even touching `request.body` would build a
  // web stream for it first).
  if (length !== null && declared >= 0 && !request.headers.has('transfer-encoding')) {
    const whole = new Uint8Array(await request.arrayBuffer());
    return whole.byteLength <= max ? whole : undefined;
  }
  if (!request.body) return new Uint8Array(0);
  // Content-Length may be absent (chunked), so count what actually arrives.
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}
