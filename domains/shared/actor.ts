/** Who is acting: taken from a verified JWT at the boundary. */
export interface Actor {
  readonly subject: string;
  readonly tenant: string;
  readonly scopes: readonly string[];
}

export function hasScope(actor: Actor, scope: string): boolean {
  return actor.scopes.includes(scope);
}
