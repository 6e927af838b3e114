/**
 * Consumer groups that MirrorMaker 2 must carry to the peer region. A single-writer processor's
 * group is taken over by the peer after a failover, from the offsets MirrorMaker 2 translated and
 * synced there; no other group is, so only these are named for it. Syncing every group (tests
 * and tools make dozens) cost the idle stack about a quarter of a core in MirrorMaker 2 and the
 * brokers, for offsets nobody reads.
 */
export const WRITER_GROUP_PREFIX = 'writer.';

/** The regular expression of MirrorMaker 2's `groups` setting that selects exactly those groups. */
export const WRITER_GROUPS_PATTERN = `${WRITER_GROUP_PREFIX.replaceAll('.', '\\.')}.*`;

/** The group of a single-writer processor `name` of `domain`, working for `region`. */
export function writerGroupId(domain: string, name: string, region: string): string {
  return `${WRITER_GROUP_PREFIX}${domain}-${name}-${region}`;
}
