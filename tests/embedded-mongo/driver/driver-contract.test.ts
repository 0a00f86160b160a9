/**
 * The engine through the unchanged `mongodb` driver and mongoose: written against MongoDB's documented
 * behaviour so that it passes unchanged on a real mongod (MONGODB_URI, a replica set for the transactions).
 * https://www.mongodb.com/docs/manual/crud/ , .../core/transactions/
 */
import { MongoBulkWriteError, MongoClient, MongoServerError, type Collection, type Db, type Document } from 'mongodb';
import mongoose from 'mongoose';
import { startTestMongo, type TestMongo } from '../../support/mongo';

let mongo: TestMongo;
let client: MongoClient;
let db: Db;

beforeAll(async () => {
  mongo = await startTestMongo();
  client = await new MongoClient(mongo.uri).connect();
  db = client.db(mongo.dbName);
});

afterAll(async () => {
  await db.dropDatabase();
  await client.close();
  await mongo.stop();
});

let counter = 0;
function fresh(): Collection<Document> {
  return db.collection(`c${++counter}`);
}

async function codeOf(work: Promise<unknown>): Promise<number | undefined> {
  try {
    await work;
    return undefined;
  } catch (error) {
    return (error as MongoServerError).code as number;
  }
}

describe('handshake and admin', () => {
  it('answers ping and hello, and CommandNotFound (59) for unknown commands', async () => {
    expect(await db.command({ ping: 1 })).toMatchObject({ ok: 1 });
    const hello = await db.admin().command({ hello: 1 });
    expect(hello.isWritablePrimary).toBe(true);
    expect(hello.maxWireVersion).toBeGreaterThanOrEqual(9);
    expect(hello.logicalSessionTimeoutMinutes).toBeGreaterThan(0);
    expect(await codeOf(db.command({ noSuchCommand: 1 }))).toBe(59);
  });
});

describe('CRUD', () => {
  it('stores _id first and generates it when missing', async () => {
    const c = fresh();
    await c.insertOne({ a: 1, _id: 'x' } as Document);
    await c.insertOne({ b: 2 });
    const docs = await c.find().toArray();
    expect(docs.map((d) => Object.keys(d)[0])).toEqual(['_id', '_id']);
  });

  it('rejects a duplicate _id with 11000, inside and outside transactions', async () => {
    const c = fresh();
    await c.insertOne({ _id: 'dup' } as Document);
    const error = await c.insertOne({ _id: 'dup' } as Document).catch((e: MongoServerError) => e);
    expect(error).toBeInstanceOf(MongoServerError);
    expect((error as MongoServerError).code).toBe(11000);
    expect((error as MongoServerError).message).toMatch(new RegExp(`^E11000 duplicate key error collection: ${mongo.dbName}\\.${c.collectionName} index: _id_ dup key:`));
    await expect(
      client.withSession((s) => s.withTransaction(() => c.insertMany([{ _id: 'new' }, { _id: 'dup' }] as Document[], { session: s }))),
    ).rejects.toBeInstanceOf(MongoServerError);
    expect(await c.countDocuments({ _id: 'new' } as Document)).toBe(0);
  });

  it('reports each failed statement of an unordered insertMany and keeps the rest', async () => {
    const c = fresh();
    await c.createIndex({ k: 1 }, { unique: true });
    const error = (await c.insertMany([{ k: 1 }, { k: 1 }, { k: 2 }], { ordered: false }).catch((e) => e)) as MongoBulkWriteError;
    expect(error).toBeInstanceOf(MongoBulkWriteError);
    expect(error.writeErrors).toHaveLength(1);
    expect(await c.countDocuments()).toBe(2);
  });

  it('returns every document once across getMore batches, in sort order', async () => {
    const c = fresh();
    await c.insertMany(Array.from({ length: 250 }, (_, n) => ({ n })));
    const docs = await c.find({}, { batchSize: 10 }).sort({ n: -1 }).toArray();
    expect(docs.map((d) => d.n)).toEqual(Array.from({ length: 250 }, (_, i) => 249 - i));
  });

  it('applies projection, skip and limit', async () => {
    const c = fresh();
    await c.insertMany([{ n: 1, a: { b: 1, c: 2 } }, { n: 2, a: { b: 3, c: 4 } }, { n: 3, a: { b: 5, c: 6 } }]);
    const docs = await c.find({}, { projection: { _id: 0, 'a.b': 1 } }).sort({ n: 1 }).skip(1).limit(1).toArray();
    expect(docs).toEqual([{ a: { b: 3 } }]);
  });

  it('updates with operators, upserts with the filter equalities and $setOnInsert', async () => {
    const c = db.collection<{ _id: number; n: number; tags: string[] }>(`c${++counter}`);
    await c.insertOne({ _id: 1, n: 1, tags: ['a'] });
    await c.updateOne({ _id: 1 }, { $inc: { n: 2 }, $push: { tags: { $each: ['c', 'b'], $sort: 1 } }, $set: { 'x.y': true } as Document });
    expect(await c.findOne({ _id: 1 })).toEqual({ _id: 1, n: 3, tags: ['a', 'b', 'c'], x: { y: true } });
    const upsert = await c.updateOne({ key: 'k1' } as Document, { $set: { v: 1 }, $setOnInsert: { created: true } }, { upsert: true });
    expect(upsert.upsertedCount).toBe(1);
    expect(await c.findOne({ key: 'k1' }, { projection: { _id: 0 } })).toEqual({ key: 'k1', v: 1, created: true });
    await c.updateOne({ key: 'k1' }, { $set: { v: 2 }, $setOnInsert: { created: false } }, { upsert: true });
    expect(await c.findOne({ key: 'k1' }, { projection: { _id: 0 } })).toEqual({ key: 'k1', v: 2, created: true });
  });

  it('updates array elements with arrayFilters and pipelines', async () => {
    const c = fresh();
    await c.insertOne({ _id: 1, items: [{ q: 1 }, { q: 5 }] } as Document);
    await c.updateOne({ _id: 1 } as Document, { $set: { 'items.$[big].flag': true } }, { arrayFilters: [{ 'big.q': { $gt: 2 } }] });
    await c.updateOne({ _id: 1 } as Document, [{ $set: { total: { $sum: '$items.q' } } }]);
    expect(await c.findOne({ _id: 1 } as Document)).toEqual({ _id: 1, items: [{ q: 1 }, { q: 5, flag: true }], total: 6 });
  });

  it('returns the document before or after findOneAndUpdate', async () => {
    const c = fresh();
    await c.insertOne({ name: 'a', n: 1 });
    expect(await c.findOneAndUpdate({ name: 'a' }, { $inc: { n: 1 } }, { returnDocument: 'before', projection: { _id: 0 } })).toEqual({ name: 'a', n: 1 });
    expect(await c.findOneAndUpdate({ name: 'a' }, { $inc: { n: 1 } }, { returnDocument: 'after', projection: { _id: 0 } })).toEqual({ name: 'a', n: 3 });
  });

  it('sees a w:0 write on a later read', async () => {
    const c = fresh();
    await c.insertOne({ fireAndForget: true }, { writeConcern: { w: 0 } });
    await new Promise((r) => setTimeout(r, 50));
    expect(await c.countDocuments({ fireAndForget: true })).toBe(1);
  });

  it('aggregates with $match, $group, $sort and $lookup', async () => {
    const orders = fresh();
    const customers = fresh();
    await customers.insertMany([{ _id: 'c1', name: 'Ann' }, { _id: 'c2', name: 'Bo' }] as Document[]);
    await orders.insertMany([{ c: 'c1', v: 5 }, { c: 'c1', v: 7 }, { c: 'c2', v: 1 }]);
    const result = await orders
      .aggregate([
        { $group: { _id: '$c', total: { $sum: '$v' } } },
        { $sort: { total: -1 } },
        { $lookup: { from: customers.collectionName, localField: '_id', foreignField: '_id', as: 'who' } },
        { $project: { total: 1, name: { $first: '$who.name' } } },
      ])
      .toArray();
    expect(result).toEqual([{ _id: 'c1', total: 12, name: 'Ann' }, { _id: 'c2', total: 1, name: 'Bo' }]);
  });
});

describe('query semantics', () => {
  it('matches null against missing fields, also through arrays of subdocuments', async () => {
    const c = fresh();
    await c.insertMany([{ _id: 1, a: [{ b: 1 }, { c: 2 }] }, { _id: 2, a: [{ b: 1 }] }, { _id: 3 }] as Document[]);
    expect((await c.find({ 'a.b': null }).toArray()).map((d) => d._id)).toEqual([1, 3]);
    expect((await c.find({ 'a.b': { $ne: null } }).toArray()).map((d) => d._id)).toEqual([2]);
  });

  it('sorts arrays by their smallest element ascending and largest descending', async () => {
    const c = fresh();
    await c.insertMany([{ _id: 'x', v: [1, 10] }, { _id: 'y', v: [5] }, { _id: 'z', v: [3, 4] }] as Document[]);
    expect((await c.find().sort({ v: 1 }).toArray()).map((d) => d._id)).toEqual(['x', 'z', 'y']);
    expect((await c.find().sort({ v: -1 }).toArray()).map((d) => d._id)).toEqual(['x', 'y', 'z']);
  });

  it('keeps range comparisons within the type bracket', async () => {
    const c = fresh();
    await c.insertMany([{ v: 10 }, { v: '20' }, { v: new Date(0) }]);
    expect(await c.countDocuments({ v: { $gt: 5 } })).toBe(1);
  });
});

describe('errors in mongod shapes', () => {
  it('raises NamespaceExists (48), ImmutableField (66) and TypeMismatch (14)', async () => {
    const c = fresh();
    await c.insertOne({ _id: 1, s: 'text' } as Document);
    expect(await codeOf(db.createCollection(c.collectionName))).toBe(48);
    expect(await codeOf(c.updateOne({ _id: 1 } as Document, { $set: { _id: 2 } }))).toBe(66);
    expect(await codeOf(c.updateOne({ _id: 1 } as Document, { $inc: { s: 1 } }))).toBe(14);
  });

  it('reports keyPattern and keyValue on a unique violation of a compound multikey index', async () => {
    const c = fresh();
    await c.createIndex({ a: 1, tags: 1 }, { unique: true });
    await c.insertOne({ a: 1, tags: ['x', 'y'] });
    const error = (await c.insertOne({ a: 1, tags: ['y'] }).catch((e) => e)) as MongoServerError;
    expect(error.code).toBe(11000);
    expect(error.keyPattern).toEqual({ a: 1, tags: 1 });
    expect(error.keyValue).toEqual({ a: 1, tags: 'y' });
  });
});

describe('transactions', () => {
  it('hides uncommitted writes from other readers and makes them visible at commit', async () => {
    const c = fresh();
    const session = client.startSession();
    session.startTransaction();
    await c.insertOne({ t: 1 }, { session });
    expect(await c.countDocuments({ t: 1 }, { session })).toBe(1);
    expect(await c.countDocuments({ t: 1 })).toBe(0);
    await session.commitTransaction();
    await session.endSession();
    expect(await c.countDocuments({ t: 1 })).toBe(1);
  });

  it('leaves nothing behind when aborted', async () => {
    const c = fresh();
    const session = client.startSession();
    session.startTransaction();
    await c.insertOne({ t: 2 }, { session });
    await session.abortTransaction();
    await session.endSession();
    expect(await c.countDocuments({ t: 2 })).toBe(0);
  });

  it('fails the second writer of a document with a retryable WriteConflict, and withTransaction retries it', async () => {
    const c = fresh();
    await c.insertOne({ _id: 'doc', n: 0 } as Document);
    const first = client.startSession();
    const second = client.startSession();
    first.startTransaction();
    second.startTransaction();
    await c.updateOne({ _id: 'doc' } as Document, { $inc: { n: 1 } }, { session: first });
    const conflict = (await c.updateOne({ _id: 'doc' } as Document, { $inc: { n: 1 } }, { session: second }).catch((e) => e)) as MongoServerError;
    expect(conflict.code).toBe(112);
    expect(conflict.hasErrorLabel('TransientTransactionError')).toBe(true);
    await second.abortTransaction().catch(() => undefined);
    let attempts = 0;
    const retried = client.withSession((s) =>
      s.withTransaction(async () => {
        attempts++;
        await c.updateOne({ _id: 'doc' } as Document, { $inc: { n: 10 } }, { session: s });
      }),
    );
    setTimeout(() => void first.commitTransaction(), 100);
    await retried;
    expect(attempts).toBeGreaterThan(1);
    expect((await c.findOne({ _id: 'doc' } as Document))?.n).toBe(11);
    await first.endSession();
    await second.endSession();
  });
});

describe('mongoose', () => {
  it('creates unique indexes, validates client-side, populates and runs transactions', async () => {
    const connection = await mongoose.createConnection(mongo.uri, { dbName: mongo.dbName }).asPromise();
    const Team = connection.model('Team', new mongoose.Schema({ name: { type: String, required: true } }));
    const Member = connection.model(
      'Member',
      new mongoose.Schema({ email: { type: String, required: true, unique: true }, team: { type: mongoose.Schema.Types.ObjectId, ref: 'Team' } }, { timestamps: true }),
    );
    await Member.init();
    const team = await Team.create({ name: 'Ward 3' });
    await Member.create({ email: 'a@example.org', team: team._id });
    expect(await codeOf(Member.create({ email: 'a@example.org' }))).toBe(11000);
    await expect(Member.create({})).rejects.toThrow(/email/);
    const member = await Member.findOne({ email: 'a@example.org' }).populate('team').lean();
    expect((member?.team as unknown as { name: string }).name).toBe('Ward 3');
    await connection.transaction(async (session) => {
      await Member.create([{ email: 'b@example.org' }], { session });
    });
    expect(await Member.countDocuments()).toBe(2);
    await connection.close();
  });
});
