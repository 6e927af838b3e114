/**
 * GraphQL error shape for every subgraph and the gateway: domain errors keep their code
 * in `extensions.code` (with client-safe details); anything unexpected is masked as
 * INTERNAL_SERVER_ERROR. The correlation id rides along so a report can be traced.
 */
import type { GraphQLFormattedError } from 'graphql';
import { GraphQLError } from 'graphql';
import { DomainError } from '../../domains/shared/errors.ts';

/** HTTP status a code should produce when it is the only error of a request. */
const HTTP_STATUS: Partial<Record<string, number>> = { UNAUTHENTICATED: 401, FORBIDDEN: 403 };

/** A GraphQLError for a domain error, keeping code and details. */
export function toGraphQLError(err: DomainError): GraphQLError {
  const status = HTTP_STATUS[err.code];
  return new GraphQLError(err.message, {
    originalError: err,
    extensions: {
      code: err.code,
      ...(Object.keys(err.details).length ? { details: err.details } : {}),
      ...(status ? { http: { status } } : {}),
    },
  });
}

function findDomainError(err: unknown): DomainError | undefined {
  for (let e = err; e; e = (e as { originalError?: unknown; cause?: unknown }).originalError ?? undefined) {
    if (e instanceof DomainError) return e;
  }
  return undefined;
}

/** Apollo Server `formatError`: codes for domain errors, masking for the unexpected. */
export function formatGraphQLError(
  formatted: GraphQLFormattedError,
  error: unknown,
  correlationId: () => string | undefined,
): GraphQLFormattedError {
  const domain = findDomainError(error);
  const extensions: Record<string, unknown> = { ...formatted.extensions };
  let message = formatted.message;
  if (domain) {
    extensions.code = domain.code;
    if (Object.keys(domain.details).length) extensions.details = domain.details;
    if (domain.retryable) extensions.retryable = true;
    message = domain.message;
  } else if (!extensions.code || extensions.code === 'INTERNAL_SERVER_ERROR') {
    extensions.code = 'INTERNAL_SERVER_ERROR';
    // The client gets a masked message; the log keeps the real one under the same id.
    console.error(`graphql internal error [${correlationId() ?? '-'}]: ${formatted.message}`);
    message = 'internal error';
  }
  delete extensions.stacktrace;
  const id = correlationId();
  if (id) extensions.correlationId = id;
  return { ...formatted, message, extensions };
}
