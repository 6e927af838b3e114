/** A small GraphQL-over-HTTP client for end-to-end tests and benchmarks. */
export interface GraphQLResult<T = Record<string, unknown>> {
  readonly status: number;
  readonly headers: Headers;
  readonly data?: T;
  readonly errors?: ReadonlyArray<{ message: string; extensions?: Record<string, unknown> }>;
}

export async function gql<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphQLResult<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: GraphQLResult['errors'] };
  return { status: res.status, headers: res.headers, ...body };
}

export const PLACE_ORDER = `mutation Place($input: PlaceOrderInput!) {
  placeOrder(input: $input) { id status total { amountCents currency } items { productId quantity } }
}`;
