/**
 * Media types of GraphQL over HTTP (https://graphql.github.io/graphql-over-http/draft/):
 * requests are `application/json`; responses are `application/graphql-response+json` ("the
 * preferred type for server responses; better HTTP compatibility") or `application/json` ("to
 * support legacy clients"). "If an Accept header is provided, the server MUST respect the given
 * Accept header and attempt to encode the response in the highest priority media type listed
 * that is supported by the server."
 */

/** The response media types the edge can produce, in the server's preference order for wildcards. */
export const RESPONSE_MEDIA_TYPES = ['application/json', 'application/graphql-response+json'] as const;

/** A GraphQL response media type. */
export type ResponseMediaType = (typeof RESPONSE_MEDIA_TYPES)[number];

interface MediaRange {
  type: string;
  subtype: string;
  params: Map<string, string>;
}

function parseMediaRange(text: string): MediaRange | undefined {
  const [essence = '', ...rest] = text.split(';');
  const [type, subtype] = essence.trim().toLowerCase().split('/');
  if (!type || !subtype) return undefined;
  const params = new Map<string, string>();
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq > 0)
      params.set(
        p.slice(0, eq).trim().toLowerCase(),
        p
          .slice(eq + 1)
          .trim()
          .replace(/^"|"$/g, ''),
      );
  }
  return { type, subtype, params };
}

const isUtf8 = (charset: string | undefined): boolean => charset === undefined || /^utf-?8$/i.test(charset);

/**
 * The response media type for an Accept header, or null when it accepts neither (→ 406). A
 * missing Accept means application/json: the spec's legacy default, and what the graphql-http
 * audits and pre-2025 clients expect. Ties in q go to the more specific range, then to the range
 * listed first, then (wildcards) to application/json.
 */
export function negotiateMediaType(accept: string | null | undefined): ResponseMediaType | null {
  if (!accept?.trim()) return 'application/json';
  // Clients send a handful of distinct Accept values: each is negotiated once.
  const known = negotiated.get(accept);
  if (known !== undefined) return known;
  const chosen = negotiate(accept);
  if (negotiated.size >= 256) negotiated.clear();
  negotiated.set(accept, chosen);
  return chosen;
}

const negotiated = new Map<string, ResponseMediaType | null>();

function negotiate(accept: string): ResponseMediaType | null {
  let best: { type: ResponseMediaType; q: number; specificity: number; position: number } | undefined;
  for (const candidate of RESPONSE_MEDIA_TYPES) {
    const [ctype, csubtype] = candidate.split('/');
    let match: { q: number; specificity: number; position: number } | undefined;
    accept.split(',').forEach((part, position) => {
      const range = parseMediaRange(part);
      if (!range || !isUtf8(range.params.get('charset'))) return;
      const specificity =
        range.type === ctype && range.subtype === csubtype
          ? 3
          : range.type === ctype && range.subtype === '*'
            ? 2
            : range.type === '*' && range.subtype === '*'
              ? 1
              : 0;
      if (specificity === 0 || (match && match.specificity >= specificity)) return;
      const q = Number(range.params.get('q') ?? '1');
      match = { q: Number.isFinite(q) ? Math.min(1, Math.max(0, q)) : 1, specificity, position };
    });
    if (!match || match.q === 0) continue;
    const better =
      !best ||
      match.q > best.q ||
      (match.q === best.q &&
        (match.specificity > best.specificity ||
          (match.specificity === best.specificity && match.specificity === 3 && match.position < best.position)));
    if (better) best = { type: candidate, ...match };
  }
  return best?.type ?? null;
}

/** Whether a request Content-Type is JSON the edge can read: application/json in UTF-8 (or no charset). */
export function isJsonRequest(contentType: string | null | undefined): boolean {
  if (!contentType) return false;
  const known = jsonTypes.get(contentType);
  if (known !== undefined) return known;
  const json = isJsonType(contentType);
  if (jsonTypes.size >= 256) jsonTypes.clear();
  jsonTypes.set(contentType, json);
  return json;
}

const jsonTypes = new Map<string, boolean>();

function isJsonType(contentType: string): boolean {
  const range = parseMediaRange(contentType);
  // "For POST requests using an officially recognized GraphQL Content-Type without indicating an
  // encoding, the server MUST assume the encoding is utf-8."
  return range?.type === 'application' && range.subtype === 'json' && isUtf8(range.params.get('charset'));
}
