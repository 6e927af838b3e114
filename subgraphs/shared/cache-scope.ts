/**
 * Tells the edge when a PRIVATE answer may be shared within a tenant. Apollo's cache
 * hints know PUBLIC and PRIVATE only; a field marked `@tenantCache` is PRIVATE but the same
 * for the whole tenant. When every PRIVATE hint of a response comes from such fields, the
 * response carries `x-meridian-cache-scope: tenant`; any other PRIVATE field keeps it
 * per user (the header is withheld), so an answer is never shared too widely.
 */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { type DirectiveNode, type GraphQLField, type GraphQLNamedType, getNamedType } from 'graphql';

export const CACHE_SCOPE_HEADER = 'x-meridian-cache-scope';

function has(directives: readonly DirectiveNode[] | undefined, name: string): boolean {
  return directives?.some((d) => d.name.value === name) ?? false;
}

function privateHint(directives: readonly DirectiveNode[] | undefined): boolean {
  return (
    directives?.some(
      (d) =>
        d.name.value === 'cacheControl' &&
        d.arguments?.some(
          (a) => a.name.value === 'scope' && a.value.kind === 'EnumValue' && a.value.value === 'PRIVATE',
        ),
    ) ?? false
  );
}

/** Whether resolving `field` (returning `type`) makes a response private, and to whom. */
export function fieldScope(
  field: GraphQLField<unknown, unknown> | undefined,
  type: GraphQLNamedType,
): 'tenant' | 'user' | undefined {
  const typePrivate = privateHint(type.astNode?.directives);
  if (has(field?.astNode?.directives, 'tenantCache')) return 'tenant';
  return privateHint(field?.astNode?.directives) || typePrivate ? 'user' : undefined;
}

export function tenantCacheScopePlugin<T extends BaseContext>(): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      let tenant = false;
      let user = false;
      return {
        async executionDidStart() {
          return {
            willResolveField({ info }) {
              const scope = fieldScope(info.parentType.getFields()[info.fieldName], getNamedType(info.returnType));
              if (scope === 'tenant') tenant = true;
              else if (scope === 'user') user = true;
            },
          };
        },
        async willSendResponse({ response }) {
          if (tenant && !user) response.http.headers.set(CACHE_SCOPE_HEADER, 'tenant');
        },
      };
    },
  };
}
