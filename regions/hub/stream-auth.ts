/**
 * The caller of a hub stream (SSE or graphql-sse over HTTP): a bearer token from the
 * Authorization header, or from `?access_token=` because EventSource cannot set headers
 * (RFC 6750 §2.3). A refusal is the problem+json answer to send instead: 401 with
 * WWW-Authenticate (RFC 6750 §3: an error code only when a token was sent), or 503 when the
 * identity provider cannot be reached.
 */
import type { Context } from 'hono';
import type { Actor } from '../../domains/shared/actor.ts';
import { isDomainError } from '../../domains/shared/errors.ts';
import { problem } from '../host/problem.ts';

/** The stream's actor, or the Response refusing it. */
export async function streamActor(
  c: Context,
  verify: (authorization: string | null | undefined) => Promise<Actor>,
): Promise<Actor | Response> {
  const queryToken = c.req.query('access_token');
  const authorization = c.req.header('authorization') ?? (queryToken ? `Bearer ${queryToken}` : undefined);
  try {
    return await verify(authorization);
  } catch (err) {
    if (isDomainError(err, 'UNAUTHENTICATED')) {
      const challenge = authorization === undefined ? '' : ', error="invalid_token"';
      c.header('WWW-Authenticate', `Bearer realm="meridian"${challenge}`);
      return problem(c, 401, 'Unauthorized', err.message);
    }
    if (isDomainError(err) && err.retryable) return problem(c, 503, 'Service Unavailable', err.message);
    throw err;
  }
}
