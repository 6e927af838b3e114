/**
 * Test data for the social store: an existing audience written straight into the follows
 * collection in the adapter's own format, without events — the state of a region where these
 * follows happened long ago (10,000 follow mutations would test the mutation path, not the
 * fan-out policy this data is for).
 */
import type { Db } from 'mongodb';

/** Makes each of `followerIds` an active follower of `followeeId` in `tenant`. */
export async function seedFollowers(
  db: Db,
  tenant: string,
  followeeId: string,
  followerIds: readonly string[],
  prefix = 'social',
): Promise<void> {
  const updatedAt = new Date().toISOString();
  const docs = followerIds.map((followerId) => ({
    _id: `${tenant}/${followerId}/${followeeId}`,
    tenant,
    followerId,
    followeeId,
    active: true,
    version: 1,
    updatedAt,
    _rev: 1,
  }));
  const collection = db.collection<(typeof docs)[number]>(`${prefix}_follows`);
  for (let i = 0; i < docs.length; i += 1000) await collection.insertMany(docs.slice(i, i + 1000));
}

/** Deletes every social document of `tenant` (tests clean up what they seeded). */
export async function deleteTenant(db: Db, tenant: string, prefix = 'social'): Promise<void> {
  for (const name of ['profiles', 'posts', 'comments', 'likes', 'follows', 'heavy_authors']) {
    await db.collection(`${prefix}_${name}`).deleteMany({ tenant });
  }
}
