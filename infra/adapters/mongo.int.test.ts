import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { REGIONS, resolveEndpoints } from '../config/endpoints.ts';
import { createMongo, type MongoDependency } from './mongo.ts';
import { closedPort, uniqueName } from './testing.ts';

interface Reading {
  device: string;
  seq: number;
  celsius: number;
  flagged?: boolean;
}

/** A small builder so each test states only the fields it cares about. */
function reading(device: string, seq: number, celsius = 20 + seq): Reading {
  return { device, seq, celsius };
}

for (const region of REGIONS) {
  describe(`mongo adapter via FerretDB (${region})`, () => {
    const endpoints = resolveEndpoints(region, process.env);
    let mongo: MongoDependency;
    const collections: string[] = [];

    before(() => {
      mongo = createMongo({ url: endpoints.mongoUrl });
    });

    after(async () => {
      try {
        for (const name of collections)
          await mongo.db
            .collection(name)
            .drop()
            .catch(() => false);
      } finally {
        await mongo.close();
      }
    });

    it('ping reports the FerretDB version', async () => {
      assert.match(await mongo.ping(), /^\d+\.\d+\.\d+ \(FerretDB v\d+\.\d+\.\d+\)$/);
    });

    it('inserts, finds with filter and sort, updates and deletes', async () => {
      const name = uniqueName('adapter_test', '_');
      collections.push(name);
      const readings = mongo.db.collection<Reading>(name);

      const one = await readings.insertOne(reading('sensor-1', 0));
      assert.equal(one.acknowledged, true);
      const many = await readings.insertMany([
        reading('sensor-2', 0),
        reading('sensor-1', 2),
        reading('sensor-1', 1),
        reading('sensor-2', 1),
      ]);
      assert.equal(many.insertedCount, 4);
      assert.equal(await readings.countDocuments(), 5);

      const sensor1 = await readings
        .find({ device: 'sensor-1', seq: { $gte: 1 } }, { projection: { _id: 0 } })
        .sort({ seq: -1 })
        .toArray();
      assert.deepEqual(sensor1, [reading('sensor-1', 2), reading('sensor-1', 1)]);

      const updated = await readings.updateOne(
        { device: 'sensor-2', seq: 1 },
        { $set: { flagged: true }, $inc: { celsius: 5 } },
      );
      assert.equal(updated.matchedCount, 1);
      assert.equal(updated.modifiedCount, 1);
      const afterUpdate = await readings.findOne({ device: 'sensor-2', seq: 1 }, { projection: { _id: 0 } });
      assert.deepEqual(afterUpdate, { ...reading('sensor-2', 1, 26), flagged: true });

      const deleted = await readings.deleteMany({ device: 'sensor-1' });
      assert.equal(deleted.deletedCount, 3);
      const left = await readings
        .find({}, { projection: { _id: 0, device: 1, seq: 1 } })
        .sort({ seq: 1 })
        .toArray();
      assert.deepEqual(left, [
        { device: 'sensor-2', seq: 0 },
        { device: 'sensor-2', seq: 1 },
      ]);
    });
  });
}

describe('mongo adapter with FerretDB down', () => {
  it('ping rejects when the server is unreachable', async () => {
    const down = createMongo({ url: `mongodb://127.0.0.1:${await closedPort()}/meridian` });
    try {
      await assert.rejects(down.ping(), /ECONNREFUSED|Server selection timed out/);
    } finally {
      await down.close();
    }
  });
});
