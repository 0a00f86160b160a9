/**
 * The aggregation stages the server relies on, and aggregation results delivered in cursor batches.
 * https://www.mongodb.com/docs/manual/reference/operator/aggregation-pipeline/ ,
 * https://www.mongodb.com/docs/manual/reference/command/aggregate/
 */
import type { Document } from 'mongodb';
import { connectWithCommandLog } from './fixtures/command-log';
import { useContractDatabase } from './fixtures/contract-database';

const database = useContractDatabase();

const observations = [
  { _id: 1, patient: 'p1', code: 'hr', value: 60, tags: ['a', 'b'] },
  { _id: 2, patient: 'p1', code: 'hr', value: 80, tags: ['b'] },
  { _id: 3, patient: 'p2', code: 'hr', value: 70, tags: [] },
  { _id: 4, patient: 'p2', code: 'bp', value: 120, tags: ['c'] },
  { _id: 5, patient: 'p3', code: 'bp', value: 110 },
];

async function aggregateObservations(pipeline: Document[]): Promise<Document[]> {
  const collection = database.collection('observations');
  await collection.insertMany(observations);
  return collection.aggregate(pipeline).toArray();
}

describe('aggregate', () => {
  it('$match keeps the documents matching a query', async () => {
    expect((await aggregateObservations([{ $match: { code: 'bp' } }])).map((document) => document._id).sort()).toEqual([4, 5]);
  });

  it('$group computes $sum, $avg and $push per key', async () => {
    const groups = await aggregateObservations([
      { $match: { code: 'hr' } },
      { $sort: { _id: 1 } },
      { $group: { _id: '$patient', count: { $sum: 1 }, total: { $sum: '$value' }, average: { $avg: '$value' }, values: { $push: '$value' } } },
      { $sort: { _id: 1 } },
    ]);
    expect(groups).toEqual([
      { _id: 'p1', count: 2, total: 140, average: 70, values: [60, 80] },
      { _id: 'p2', count: 1, total: 70, average: 70, values: [70] },
    ]);
  });

  it('$group with _id: null aggregates the whole input', async () => {
    expect(await aggregateObservations([{ $group: { _id: null, total: { $sum: '$value' } } }])).toEqual([{ _id: null, total: 440 }]);
  });

  it('counts the matching documents with $group on a constant _id and $sum: 1, after $skip and $limit', async () => {
    expect(await aggregateObservations([{ $match: { code: 'hr' } }, { $group: { _id: 1, n: { $sum: 1 } } }])).toEqual([{ _id: 1, n: 3 }]);
    const paged = [{ $match: { code: 'hr' } }, { $skip: 1 }, { $limit: 1 }, { $group: { _id: null, n: { $sum: 1 }, also: { $sum: 1 } } }];
    expect(await aggregateObservations(paged)).toEqual([{ _id: null, n: 1, also: 1 }]);
  });

  it('$group over no documents outputs no document', async () => {
    expect(await aggregateObservations([{ $match: { code: 'none' } }, { $group: { _id: 1, n: { $sum: 1 } } }])).toEqual([]);
  });

  it('$sort, $skip and $limit page through the results', async () => {
    const page = await aggregateObservations([{ $sort: { value: -1 } }, { $skip: 1 }, { $limit: 2 }]);
    expect(page.map((document) => document._id)).toEqual([5, 2]);
  });

  it('$project includes fields, drops _id and computes new ones', async () => {
    const projected = await aggregateObservations([
      { $match: { _id: 4 } },
      { $project: { _id: 0, code: 1, doubled: { $multiply: ['$value', 2] } } },
    ]);
    expect(projected).toEqual([{ code: 'bp', doubled: 240 }]);
  });

  it('$unwind emits one document per array element and drops empty or missing arrays', async () => {
    const unwound = await aggregateObservations([{ $unwind: '$tags' }, { $project: { tags: 1 } }, { $sort: { _id: 1, tags: 1 } }]);
    expect(unwound).toEqual([
      { _id: 1, tags: 'a' },
      { _id: 1, tags: 'b' },
      { _id: 2, tags: 'b' },
      { _id: 4, tags: 'c' },
    ]);
  });

  it('$lookup joins the matching documents of another collection as an array', async () => {
    const patients = database.collection('patients');
    await patients.insertMany([
      { _id: 'p1', name: 'Ann' },
      { _id: 'p2', name: 'Bo' },
    ]);
    const joined = await aggregateObservations([
      { $match: { code: 'bp' } },
      { $lookup: { from: patients.collectionName, localField: 'patient', foreignField: '_id', as: 'subject' } },
      { $project: { subject: 1 } },
      { $sort: { _id: 1 } },
    ]);
    expect(joined).toEqual([
      { _id: 4, subject: [{ _id: 'p2', name: 'Bo' }] },
      { _id: 5, subject: [] },
    ]);
  });

  it('$count outputs one document with the number of input documents', async () => {
    expect(await aggregateObservations([{ $match: { value: { $gte: 70 } } }, { $count: 'n' }])).toEqual([{ n: 4 }]);
  });

  it('$facet runs several sub-pipelines over the same input', async () => {
    const faceted = await aggregateObservations([
      {
        $facet: {
          byCode: [{ $group: { _id: '$code', n: { $sum: 1 } } }, { $sort: { _id: 1 } }],
          highest: [{ $sort: { value: -1 } }, { $limit: 1 }, { $project: { _id: 1 } }],
        },
      },
    ]);
    expect(faceted).toEqual([
      {
        byCode: [
          { _id: 'bp', n: 2 },
          { _id: 'hr', n: 3 },
        ],
        highest: [{ _id: 4 }],
      },
    ]);
  });

  it('returns a large result in cursor batches of the requested size, each document once', async () => {
    const log = await connectWithCommandLog(database.mongo.uri);
    try {
      const numbers = log.client.db(database.mongo.dbName).collection<{ _id: number }>(database.collection('numbers').collectionName);
      await numbers.insertMany(Array.from({ length: 95 }, (_, n) => ({ _id: n })));
      const results = await numbers.aggregate<{ _id: number }>([{ $sort: { _id: -1 } }], { batchSize: 20 }).toArray();
      expect(results.map((document) => document._id)).toEqual(Array.from({ length: 95 }, (_, n) => 94 - n));
      expect(log.commandNames().filter((name) => name === 'getMore').length).toBeGreaterThanOrEqual(4);
    } finally {
      await log.client.close();
    }
  });
});
