/**
 * bulkWrite with mixed operations, and unacknowledged (w: 0) writes.
 * https://www.mongodb.com/docs/manual/reference/method/db.collection.bulkWrite/ ,
 * https://www.mongodb.com/docs/manual/reference/write-concern/#w-option
 */
import { MongoBulkWriteError, MongoClient } from 'mongodb';
import { rejectionOf, useContractDatabase, type ContractDocument } from './fixtures/contract-database';
import { listWriteErrors } from './fixtures/write-errors';

const database = useContractDatabase();

describe('bulkWrite', () => {
  it('runs inserts, updates, replacements, upserts and deletes in one call and reports each count', async () => {
    const documents = database.collection('documents');
    await documents.insertMany([
      { _id: 1, kind: 'x', n: 0 },
      { _id: 2, kind: 'x', n: 0 },
      { _id: 3, kind: 'y', n: 0 },
      { _id: 4, kind: 'z', n: 0 },
    ]);
    const result = await documents.bulkWrite([
      { insertOne: { document: { _id: 5, kind: 'new' } } },
      { updateOne: { filter: { _id: 1 }, update: { $set: { n: 1 } } } },
      { updateMany: { filter: { kind: 'x' }, update: { $inc: { n: 10 } } } },
      { replaceOne: { filter: { _id: 3 }, replacement: { kind: 'replaced' } } },
      { updateOne: { filter: { _id: 6 }, update: { $set: { kind: 'upserted' } }, upsert: true } },
      { deleteOne: { filter: { _id: 4 } } },
      { deleteMany: { filter: { kind: 'nothing' } } },
    ]);
    expect({
      inserted: result.insertedCount,
      matched: result.matchedCount,
      modified: result.modifiedCount,
      deleted: result.deletedCount,
      upserted: result.upsertedCount,
      upsertedIds: result.upsertedIds,
    }).toEqual({ inserted: 1, matched: 4, modified: 4, deleted: 1, upserted: 1, upsertedIds: { 4: 6 } });
    expect(await documents.find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, kind: 'x', n: 11 },
      { _id: 2, kind: 'x', n: 10 },
      { _id: 3, kind: 'replaced' },
      { _id: 5, kind: 'new' },
      { _id: 6, kind: 'upserted' },
    ]);
  });

  it('stops an ordered bulkWrite at the first failing operation and reports it with its index', async () => {
    const documents = database.collection('documents');
    await documents.insertOne({ _id: 1 });
    const error = await rejectionOf(
      documents.bulkWrite([{ insertOne: { document: { _id: 2 } } }, { insertOne: { document: { _id: 1 } } }, { deleteOne: { filter: { _id: 2 } } }]),
      MongoBulkWriteError,
    );
    expect(listWriteErrors(error).map((writeError) => ({ index: writeError.index, code: writeError.code }))).toEqual([{ index: 1, code: 11000 }]);
    expect(error.insertedCount).toBe(1);
    expect(await documents.countDocuments({ _id: 2 })).toBe(1);
  });
});

describe('unacknowledged writes (w: 0)', () => {
  // One connection, so the later read reaches the server after the unacknowledged write on the same socket,
  // which the server processes in order.
  let singleConnection: MongoClient;

  beforeAll(async () => {
    singleConnection = await new MongoClient(database.mongo.uri, { maxPoolSize: 1 }).connect();
  });

  afterAll(async () => {
    await singleConnection.close();
  });

  it('returns acknowledged: false for an insert with w: 0, and a later read sees the document', async () => {
    const documents = singleConnection.db(database.mongo.dbName).collection<ContractDocument>(database.collection('unacknowledged').collectionName);
    const result = await documents.insertOne({ _id: 'fire-and-forget' }, { writeConcern: { w: 0 } });
    expect(result.acknowledged).toBe(false);
    expect(await documents.findOne({ _id: 'fire-and-forget' })).toEqual({ _id: 'fire-and-forget' });
  });

  it('applies an update sent with w: 0 before a later read', async () => {
    const documents = singleConnection.db(database.mongo.dbName).collection<ContractDocument>(database.collection('unacknowledged').collectionName);
    await documents.insertOne({ _id: 1, n: 0 });
    const result = await documents.updateOne({ _id: 1 }, { $inc: { n: 1 } }, { writeConcern: { w: 0 } });
    expect(result.acknowledged).toBe(false);
    expect(await documents.findOne({ _id: 1 })).toEqual({ _id: 1, n: 1 });
  });
});
