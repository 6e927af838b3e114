/** Social operations over GraphQL for end-to-end tests and benchmarks (gateway or edge URL). */
import { type GraphQLResult, gql } from './graphql-client.ts';

export interface FeedPost {
  readonly id: string;
  readonly body: string;
  readonly author: { readonly id: string };
}

export interface FeedResult {
  readonly id: string;
  readonly posts: readonly FeedPost[];
  readonly endCursor: string | null;
  readonly hasNextPage: boolean;
}

export const FEED_QUERY = `query Feed($first: Int, $after: String) {
  feed(first: $first, after: $after) { id posts { id body author { id } } endCursor hasNextPage }
}`;

/** A caller's social operations against `url` (a /graphql endpoint). */
export function socialClient(url: string, token: string, headers: Record<string, string> = {}) {
  const h = { authorization: `Bearer ${token}`, ...headers };
  const must = <T>(r: GraphQLResult<T>, what: string): T => {
    if (!r.data || r.errors?.length) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.errors)}`);
    return r.data;
  };
  return {
    raw: <T = Record<string, unknown>>(
      query: string,
      variables: Record<string, unknown> = {},
      extra: Record<string, string> = {},
    ) => gql<T>(url, query, variables, { ...h, ...extra }),
    async setProfile(displayName: string): Promise<void> {
      must(
        await gql(
          url,
          'mutation($n: String!) { setProfile(input: { displayName: $n }) { id } }',
          { n: displayName },
          h,
        ),
        'setProfile',
      );
    },
    async follow(userId: string): Promise<void> {
      must(await gql(url, 'mutation($u: ID!) { follow(userId: $u) { id } }', { u: userId }, h), 'follow');
    },
    async post(body: string, productIds: string[] = []): Promise<{ id: string; createdAt: string }> {
      const r = await gql<{ createPost: { id: string; createdAt: string } }>(
        url,
        'mutation($b: String!, $p: [ID!]) { createPost(input: { body: $b, productIds: $p }) { id createdAt } }',
        { b: body, p: productIds },
        h,
      );
      return must(r, 'createPost').createPost;
    },
    async feed(first = 20, after: string | null = null): Promise<FeedResult> {
      return must(await gql<{ feed: FeedResult }>(url, FEED_QUERY, { first, after }, h), 'feed').feed;
    },
  };
}

/** Polls `check` every `intervalMs` until it answers true; resolves with the elapsed ms, rejects after `timeoutMs`. */
export async function until(check: () => Promise<boolean>, timeoutMs = 10_000, intervalMs = 20): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await check().catch(() => false)) return performance.now() - start;
    if (performance.now() - start > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
