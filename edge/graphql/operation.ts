/** Picking the operation to execute out of a document, as GraphQL's GetOperation() does. */
import { type DocumentNode, type FragmentDefinitionNode, Kind, type OperationDefinitionNode } from 'graphql';

/** The chosen operation, or why none could be chosen. */
export type OperationSelection = { ok: true; operation: OperationDefinitionNode } | { ok: false; message: string };

/**
 * The operation named `operationName`, or the only one when no name is given
 * (https://spec.graphql.org/draft/#GetOperation(): "If operationName is null: If document
 * contains exactly one operation. Return the Operation contained in the document. Otherwise
 * raise a request error requiring operationName.").
 */
export function selectOperation(document: DocumentNode, operationName?: string | null): OperationSelection {
  const operations = document.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );
  if (!operationName) {
    const [only] = operations;
    if (only && operations.length === 1) return { ok: true, operation: only };
    return {
      ok: false,
      message: only
        ? 'Must provide operation name if query contains multiple operations.'
        : 'The document contains no operation.',
    };
  }
  const named = operations.find((op) => op.name?.value === operationName);
  return named ? { ok: true, operation: named } : { ok: false, message: `Unknown operation named "${operationName}".` };
}

/** The document's fragment definitions by name. */
export function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  return fragments;
}
