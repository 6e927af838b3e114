/**
 * Likes and follows: relations between a user and a post or another user that can be switched
 * on and off. Each is a last-writer-wins register: every change bumps the version, and a region
 * applying a copy from the other keeps whichever state is newer (`supersedes`), so both regions
 * converge whatever order the copies arrive in.
 */

export interface Like {
  readonly tenant: string;
  readonly postId: string;
  readonly userId: string;
  readonly active: boolean;
  readonly version: number;
  readonly updatedAt: string;
}

export interface Follow {
  readonly tenant: string;
  readonly followerId: string;
  readonly followeeId: string;
  readonly active: boolean;
  readonly version: number;
  readonly updatedAt: string;
}

/** Whether state `incoming` replaces `current`: a higher version, or the same version written later. */
export function supersedes(
  incoming: { readonly version: number; readonly updatedAt: string },
  current: { readonly version: number; readonly updatedAt: string } | undefined,
): boolean {
  if (current === undefined) return true;
  if (incoming.version !== current.version) return incoming.version > current.version;
  return incoming.updatedAt > current.updatedAt;
}
