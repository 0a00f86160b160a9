/**
 * Reading: find with filter, sort, skip, limit and projection; cursors across getMore batches and killCursors;
 * countDocuments, estimatedDocumentCount and distinct.
 * https://www.mongodb.com/docs/manual/reference/command/find/ ,
 * https://www.mongodb.com/docs/manual/tutorial/project-fields-from-query-results/ ,
 * https://www.mongodb.com/docs/manual/reference/command/distinct/
 */
import { Long, MongoServerError, type Document } from 'mongodb';
import { connectWithCommandLog } from './fixtures/command-log';
import { rejectionOf, useContractDatabase } from './fixtures/contract-database';

const database = useContractDatabase();

interface Numbered {
  _id: number;
  n: number;
  even: boolean;
  group: string;
}

const tenNumbers: Numbered[] = Array.from({ length: 10 }, (_, n) => ({ _id: n, n, even: n % 2 === 0, group: n < 5 ? 'low' : 'high' }));

const patient = {
  _id: 1,
  name: { given: 'Ann', family: 'Lee' },
  age: 30,
  identifiers: [
    { system: 'mrn', value: 'A1' },
    { system: 'ssn', value: 'B2' },
  ],
};

describe('find', () => {
  it('applies filter, sort, skip and limit together', async () => {
    const numbers = database.collection<Numbered>('numbers');
    await numbers.insertMany(tenNumbers);
    const page = await numbers.find({ even: true }).sort({ n: -1 }).skip(1).limit(2).toArray();
    expect(page.map((document) => document.n)).toEqual([6, 4]);
  });

  it('sorts on several keys, each in its own direction', async () => {
    const numbers = database.collection<Numbered>('numbers');
    await numbers.insertMany(tenNumbers);
    const sorted = await numbers.find({ n: { $in: [0, 1, 8, 9] } }).sort({ group: 1, n: -1 }).toArray();
    expect(sorted.map((document) => document.n)).toEqual([9, 8, 1, 0]);
  });

  it('returns only _id and the included fields for an inclusion projection', async () => {
    const patients = database.collection('patients');
    await patients.insertOne(patient);
    expect(await patients.findOne({}, { projection: { age: 1 } })).toEqual({ _id: 1, age: 30 });
  });

  it('leaves out _id when the inclusion projection sets _id: 0', async () => {
    const patients = database.collection('patients');
    await patients.insertOne(patient);
    expect(await patients.findOne({}, { projection: { age: 1, _id: 0 } })).toEqual({ age: 30 });
  });

  it('returns every field but the excluded ones for an exclusion projection', async () => {
    const patients = database.collection('patients');
    await patients.insertOne(patient);
    expect(await patients.findOne({}, { projection: { name: 0, identifiers: 0 } })).toEqual({ _id: 1, age: 30 });
  });

  it('includes a nested path as a subdocument holding only that field', async () => {
    const patients = database.collection('patients');
    await patients.insertOne(patient);
    expect(await patients.findOne({}, { projection: { 'name.family': 1 } })).toEqual({ _id: 1, name: { family: 'Lee' } });
  });

  it('excludes a nested path and keeps its siblings', async () => {
    const patients = database.collection('patients');
    await patients.insertOne(patient);
    expect(await patients.findOne({}, { projection: { 'name.given': 0, identifiers: 0 } })).toEqual({ _id: 1, name: { family: 'Lee' }, age: 30 });
  });

  it('projects a nested path through an array of subdocuments element by element', async () => {
    const patients = database.collection('patients');
    await patients.insertOne(patient);
    expect(await patients.findOne({}, { projection: { 'identifiers.value': 1, _id: 0 } })).toEqual({ identifiers: [{ value: 'A1' }, { value: 'B2' }] });
  });
});

describe('cursors', () => {
  it('returns 250 documents once each, in sort order, in batches of at most 10 across getMore', async () => {
    const log = await connectWithCommandLog(database.mongo.uri);
    try {
      const numbers = log.client.db(database.mongo.dbName).collection<{ _id: number }>(database.collection('batches').collectionName);
      await numbers.insertMany(Array.from({ length: 250 }, (_, n) => ({ _id: 249 - n })));
      const seen = await numbers.find({}, { batchSize: 10 }).sort({ _id: 1 }).toArray();
      expect(seen.map((document) => document._id)).toEqual(Array.from({ length: 250 }, (_, n) => n));
      const batchSizes = log.succeeded
        .filter((event) => event.commandName === 'find' || event.commandName === 'getMore')
        .map((event) => {
          const cursor = (event.reply as { cursor: { firstBatch?: Document[]; nextBatch?: Document[] } }).cursor;
          return (cursor.firstBatch ?? cursor.nextBatch ?? []).length;
        });
      expect(Math.max(...batchSizes)).toBe(10);
      expect(batchSizes.reduce((sum, size) => sum + size, 0)).toBe(250);
      expect(log.commandNames().filter((name) => name === 'getMore').length).toBeGreaterThanOrEqual(24);
    } finally {
      await log.client.close();
    }
  });

  it('kills an open cursor on close (killCursors lists it as killed) and a getMore on it then fails with CursorNotFound (43)', async () => {
    const log = await connectWithCommandLog(database.mongo.uri);
    try {
      const db = log.client.db(database.mongo.dbName);
      const numbers = db.collection<Numbered>(database.collection('killed').collectionName);
      await numbers.insertMany(tenNumbers);
      const cursor = numbers.find({}, { batchSize: 2 });
      await cursor.next();
      const cursorId = cursor.id;
      expect(cursorId).toBeInstanceOf(Long);
      expect(cursorId?.isZero()).toBe(false);
      await cursor.close();
      const killed = log.succeeded.find((event) => event.commandName === 'killCursors');
      expect((killed?.reply as { cursorsKilled: Long[] }).cursorsKilled.map(String)).toEqual([String(cursorId)]);
      const error = await rejectionOf(db.command({ getMore: cursorId, collection: numbers.collectionName }), MongoServerError);
      expect(error.code).toBe(43);
    } finally {
      await log.client.close();
    }
  });
});

describe('counting', () => {
  it('counts the documents matching a filter with countDocuments', async () => {
    const numbers = database.collection<Numbered>('numbers');
    await numbers.insertMany(tenNumbers);
    expect(await numbers.countDocuments({ even: true, n: { $gte: 4 } })).toBe(3);
  });

  it('applies skip and limit to countDocuments', async () => {
    const numbers = database.collection<Numbered>('numbers');
    await numbers.insertMany(tenNumbers);
    expect(await numbers.countDocuments({}, { skip: 8, limit: 5 })).toBe(2);
  });

  it('counts the whole collection with estimatedDocumentCount', async () => {
    const numbers = database.collection<Numbered>('numbers');
    await numbers.insertMany(tenNumbers);
    expect(await numbers.estimatedDocumentCount()).toBe(10);
  });

  it('gives 0 for a collection that does not exist', async () => {
    const missing = database.collection('never_written');
    expect(await missing.countDocuments()).toBe(0);
    expect(await missing.estimatedDocumentCount()).toBe(0);
  });
});

describe('distinct', () => {
  it('returns each value once, flattening arrays into their elements', async () => {
    const tagged = database.collection('tagged');
    await tagged.insertMany([{ tags: ['a', 'b'] }, { tags: 'b' }, { tags: ['c'] }, { other: 1 }]);
    expect((await tagged.distinct('tags')).sort()).toEqual(['a', 'b', 'c']);
  });

  it('restricts the values to the documents matching the filter', async () => {
    const numbers = database.collection<Numbered>('numbers');
    await numbers.insertMany(tenNumbers);
    expect((await numbers.distinct('group', { n: { $lt: 3 } })).sort()).toEqual(['low']);
  });

  it('reads values along nested paths', async () => {
    const patients = database.collection('patients');
    await patients.insertOne(patient);
    expect((await patients.distinct('identifiers.system')).sort()).toEqual(['mrn', 'ssn']);
  });
});

describe('explain', () => {
  // https://www.mongodb.com/docs/manual/reference/explain-results/#queryplanner
  it('describes the plan of a find under queryPlanner, naming the namespace, without returning documents', async () => {
    const numbers = database.collection<Numbered>('explained');
    await numbers.insertMany(tenNumbers);
    await numbers.createIndex({ n: 1 });
    const explained = await numbers.find({ n: { $gte: 5 } }).sort({ n: 1 }).limit(2).explain('queryPlanner');
    expect(explained.queryPlanner.namespace).toBe(`${database.mongo.dbName}.${numbers.collectionName}`);
    expect(typeof explained.queryPlanner.winningPlan).toBe('object');
    expect(explained).not.toHaveProperty('cursor');
  });
});
