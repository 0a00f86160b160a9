/**
 * Collection and database lifecycle: create, list, drop.
 * https://www.mongodb.com/docs/manual/reference/command/create/ ,
 * https://www.mongodb.com/docs/manual/reference/command/listCollections/ ,
 * https://www.mongodb.com/docs/manual/reference/command/drop/ ,
 * https://www.mongodb.com/docs/manual/reference/command/dropDatabase/
 */
import { useContractDatabase } from './fixtures/contract-database';

const database = useContractDatabase();

async function listCollectionNames(filter: Record<string, unknown> = {}): Promise<string[]> {
  return (await database.db.listCollections(filter, { nameOnly: true }).toArray()).map((collection) => collection.name).sort();
}

describe('collections', () => {
  it('createCollection creates an empty collection that listCollections reports', async () => {
    const name = database.collection('created').collectionName;
    await database.db.createCollection(name);
    expect(await listCollectionNames()).toContain(name);
    expect(await database.db.collection(name).countDocuments()).toBe(0);
  });

  it('creates a collection implicitly on the first insert', async () => {
    const collection = database.collection('implicit');
    expect(await listCollectionNames()).not.toContain(collection.collectionName);
    await collection.insertOne({ a: 1 });
    expect(await listCollectionNames()).toContain(collection.collectionName);
  });

  it('listCollections filters by name', async () => {
    const wanted = database.collection('wanted');
    const other = database.collection('other');
    await wanted.insertOne({});
    await other.insertOne({});
    expect(await listCollectionNames({ name: wanted.collectionName })).toEqual([wanted.collectionName]);
  });

  it('listCollections describes each collection with its name and type "collection"', async () => {
    const collection = database.collection('described');
    await collection.insertOne({});
    const [info] = await database.db.listCollections({ name: collection.collectionName }).toArray();
    expect(info).toMatchObject({ name: collection.collectionName, type: 'collection' });
  });

  it('drop removes the collection and its documents', async () => {
    const collection = database.collection('dropped');
    await collection.insertMany([{ a: 1 }, { a: 2 }]);
    expect(await collection.drop()).toBe(true);
    expect(await listCollectionNames()).not.toContain(collection.collectionName);
    expect(await collection.countDocuments()).toBe(0);
  });

  it('drop also removes the collection’s secondary indexes', async () => {
    const collection = database.collection('reindexed');
    await collection.createIndex({ code: 1 }, { unique: true });
    await collection.insertOne({ code: 'x' });
    await collection.drop();
    await collection.insertMany([{ code: 'x' }, { code: 'x' }]);
    expect((await collection.listIndexes().toArray()).map((index) => index.name)).toEqual(['_id_']);
  });

  it('dropDatabase removes every collection of the database', async () => {
    const other = database.client.db(`${database.mongo.dbName}_dropped`);
    await other.collection('a').insertOne({});
    await other.collection('b').insertOne({});
    expect(await other.dropDatabase()).toBe(true);
    expect(await other.listCollections().toArray()).toEqual([]);
    expect(await other.collection('a').countDocuments()).toBe(0);
  });
});
