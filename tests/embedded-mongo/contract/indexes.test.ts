/**
 * Secondary indexes: creation options, listing, dropping, and how unique indexes treat compound keys, arrays
 * and missing fields.
 * https://www.mongodb.com/docs/manual/reference/command/createIndexes/ ,
 * https://www.mongodb.com/docs/manual/core/index-unique/ , https://www.mongodb.com/docs/manual/core/index-sparse/ ,
 * https://www.mongodb.com/docs/manual/core/index-partial/ , https://www.mongodb.com/docs/manual/core/index-ttl/
 */
import { MongoServerError, type Collection, type Document } from 'mongodb';
import { rejectionOf, useContractDatabase } from './fixtures/contract-database';

const database = useContractDatabase();

async function indexByName(collection: Collection<Document>, name: string): Promise<Document | undefined> {
  return (await collection.listIndexes().toArray()).find((index) => index.name === name);
}

describe('creating and listing indexes', () => {
  it('names a single-field index <field>_<direction>', async () => {
    const collection = database.collection('indexed');
    expect(await collection.createIndex({ code: 1 })).toBe('code_1');
  });

  it('names a compound index after every field and direction, e.g. a_1_b_-1', async () => {
    const collection = database.collection('indexed');
    expect(await collection.createIndex({ a: 1, b: -1 })).toBe('a_1_b_-1');
    expect(await indexByName(collection, 'a_1_b_-1')).toMatchObject({ key: { a: 1, b: -1 } });
  });

  it('lists the _id_ index of every collection', async () => {
    const collection = database.collection('indexed');
    await collection.insertOne({});
    expect(await indexByName(collection, '_id_')).toMatchObject({ key: { _id: 1 } });
  });

  it('accepts an explicit index name', async () => {
    const collection = database.collection('indexed');
    expect(await collection.createIndex({ code: 1 }, { name: 'by_code' })).toBe('by_code');
    expect(await indexByName(collection, 'by_code')).toMatchObject({ key: { code: 1 } });
  });

  it('lists the unique and sparse options of an index', async () => {
    const collection = database.collection('indexed');
    await collection.createIndex({ email: 1 }, { unique: true, sparse: true });
    expect(await indexByName(collection, 'email_1')).toMatchObject({ key: { email: 1 }, unique: true, sparse: true });
  });

  it('lists the partialFilterExpression of a partial index', async () => {
    const collection = database.collection('indexed');
    await collection.createIndex({ email: 1 }, { partialFilterExpression: { active: true } });
    expect(await indexByName(collection, 'email_1')).toMatchObject({ partialFilterExpression: { active: true } });
  });

  it('accepts a TTL index and lists its expireAfterSeconds', async () => {
    const collection = database.collection('indexed');
    await collection.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 3600 });
    expect(await indexByName(collection, 'expiresAt_1')).toMatchObject({ key: { expiresAt: 1 }, expireAfterSeconds: 3600 });
  });

  it('treats creating the same index again as a no-op', async () => {
    const collection = database.collection('indexed');
    await collection.createIndex({ code: 1 }, { unique: true });
    expect(await collection.createIndex({ code: 1 }, { unique: true })).toBe('code_1');
    expect((await collection.listIndexes().toArray()).map((index) => index.name).sort()).toEqual(['_id_', 'code_1']);
  });

  it('dropIndex removes the index and its constraint', async () => {
    const collection = database.collection('indexed');
    await collection.createIndex({ code: 1 }, { unique: true });
    await collection.dropIndex('code_1');
    expect(await indexByName(collection, 'code_1')).toBeUndefined();
    await collection.insertMany([{ code: 'x' }, { code: 'x' }]);
    expect(await collection.countDocuments({ code: 'x' })).toBe(2);
  });

  it('rejects dropping an index that does not exist with IndexNotFound (27)', async () => {
    const collection = database.collection('indexed');
    await collection.insertOne({});
    const error = await rejectionOf(collection.dropIndex('missing_1'), MongoServerError);
    expect(error.code).toBe(27);
  });
});

describe('unique indexes', () => {
  it('enforces uniqueness of the combination of fields in a compound index', async () => {
    const collection = database.collection('unique');
    await collection.createIndex({ system: 1, value: 1 }, { unique: true });
    await collection.insertMany([
      { system: 's1', value: 'v' },
      { system: 's2', value: 'v' },
      { system: 's1', value: 'w' },
    ]);
    const error = await rejectionOf(collection.insertOne({ system: 's1', value: 'v' }), MongoServerError);
    expect(error.code).toBe(11000);
    expect(error.keyPattern).toEqual({ system: 1, value: 1 });
    expect(error.keyValue).toEqual({ system: 's1', value: 'v' });
  });

  it('enforces uniqueness of each element across documents on an array field (multikey)', async () => {
    // "the unique constraint applies across separate documents" for each indexed array element.
    const collection = database.collection('unique');
    await collection.createIndex({ tags: 1 }, { unique: true });
    await collection.insertOne({ tags: ['x', 'y'] });
    const error = await rejectionOf(collection.insertOne({ tags: ['y', 'z'] }), MongoServerError);
    expect(error.code).toBe(11000);
    expect(error.keyValue).toEqual({ tags: 'y' });
  });

  it('lets one document repeat a value in its own array under a unique multikey index', async () => {
    const collection = database.collection('unique');
    await collection.createIndex({ tags: 1 }, { unique: true });
    await collection.insertOne({ tags: ['q', 'q'] });
    expect(await collection.countDocuments({ tags: 'q' })).toBe(1);
  });

  it('enforces a compound unique index that includes an array field element by element', async () => {
    const collection = database.collection('unique');
    await collection.createIndex({ owner: 1, tags: 1 }, { unique: true });
    await collection.insertOne({ owner: 1, tags: ['x', 'y'] });
    await collection.insertOne({ owner: 2, tags: ['y'] });
    const error = await rejectionOf(collection.insertOne({ owner: 1, tags: ['y'] }), MongoServerError);
    expect(error.code).toBe(11000);
    expect(error.keyValue).toEqual({ owner: 1, tags: 'y' });
  });

  it('fails to create a unique index over existing duplicates with 11000 and leaves no index behind', async () => {
    const collection = database.collection('unique');
    await collection.insertMany([{ code: 'dup' }, { code: 'dup' }]);
    const error = await rejectionOf(collection.createIndex({ code: 1 }, { unique: true }), MongoServerError);
    expect(error.code).toBe(11000);
    expect(await indexByName(collection, 'code_1')).toBeUndefined();
  });

  it('treats a missing field as null in a non-sparse unique index, so a second document without it is a duplicate', async () => {
    // "If a document does not have a value for the indexed field in a unique index, the index will store a null
    // value for this document. Because of the unique constraint, MongoDB will only permit one document that lacks
    // the indexed field."
    const collection = database.collection('unique');
    await collection.createIndex({ email: 1 }, { unique: true });
    await collection.insertOne({ name: 'first' });
    const error = await rejectionOf(collection.insertOne({ name: 'second' }), MongoServerError);
    expect(error.code).toBe(11000);
    expect(error.keyValue).toEqual({ email: null });
  });

  it('allows many documents without the field in a sparse unique index, and still rejects duplicate values', async () => {
    const collection = database.collection('unique');
    await collection.createIndex({ email: 1 }, { unique: true, sparse: true });
    await collection.insertMany([{ name: 'a' }, { name: 'b' }, { email: 'x@example.org' }]);
    expect(await collection.countDocuments()).toBe(3);
    const error = await rejectionOf(collection.insertOne({ email: 'x@example.org' }), MongoServerError);
    expect(error.code).toBe(11000);
  });

  it('enforces a partial unique index only on documents matching its filter', async () => {
    const collection = database.collection('unique');
    await collection.createIndex({ email: 1 }, { unique: true, partialFilterExpression: { active: true } });
    await collection.insertMany([
      { email: 'x@example.org', active: false },
      { email: 'x@example.org', active: false },
      { email: 'x@example.org', active: true },
    ]);
    const error = await rejectionOf(collection.insertOne({ email: 'x@example.org', active: true }), MongoServerError);
    expect(error.code).toBe(11000);
  });
});
