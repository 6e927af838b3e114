/** Small response builders shared by the edge's routes. */

/** A GraphQL-over-HTTP error response (`errors[].extensions.code`). */
export function graphqlError(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify({ errors: [{ message, extensions: { code } }] }), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}
