/** MongoDB-wire adapter (official driver), pointed at FerretDB locally. */
import { type Db, MongoClient } from 'mongodb';
import type { Dependency } from './dependency.ts';

export interface MongoConfig {
  readonly url: string;
}

export interface MongoDependency extends Dependency {
  readonly client: MongoClient;
  /** The database named in the URL path (default "meridian"). */
  readonly db: Db;
}

export function createMongo(config: MongoConfig): MongoDependency {
  const client = new MongoClient(config.url, { serverSelectionTimeoutMS: 3000, connectTimeoutMS: 3000 });
  const dbName = new URL(config.url).pathname.replace(/^\//, '') || 'meridian';
  let closed = false;
  return {
    name: 'mongo',
    client,
    db: client.db(dbName),
    async ping() {
      const info = await client.db('admin').command({ buildInfo: 1 });
      const ferret = typeof info.ferretdbVersion === 'string' ? ` (FerretDB ${info.ferretdbVersion})` : '';
      return `${String(info.version)}${ferret}`;
    },
    async close() {
      if (closed) return;
      closed = true;
      await client.close();
    },
  };
}
