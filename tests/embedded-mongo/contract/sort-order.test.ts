/**
 * Sort order: arrays sort by their smallest (ascending) or largest (descending) element, values of different
 * types follow the BSON comparison order, and a unique tie-breaker makes paging stable.
 * https://www.mongodb.com/docs/manual/reference/bson-type-comparison-order/ ,
 * https://www.mongodb.com/docs/manual/reference/method/cursor.sort/
 */
import { Decimal128, Double, Int32, Long, ObjectId, type Document, type Sort } from 'mongodb';
import { useContractDatabase } from './fixtures/contract-database';

const database = useContractDatabase();

/** Stores `documents` and returns their _ids in the order of `sort`. */
async function idsSortedBy(documents: Document[], sort: Sort): Promise<unknown[]> {
  const collection = database.collection('sorted');
  await collection.insertMany(documents);
  return (await collection.find({}, { projection: { _id: 1 } }).sort(sort).toArray()).map((document) => document._id);
}

// One value of each type, with _ids in the documented ascending order; null and a missing field tie.
const oneOfEachType = [
  { _id: 'a', v: null },
  { _id: 'b' },
  { _id: 'c', v: 5 },
  { _id: 'd', v: 'text' },
  { _id: 'e', v: { x: 1 } },
  { _id: 'f', v: new ObjectId() },
  { _id: 'g', v: false },
  { _id: 'h', v: new Date(0) },
];

describe('sort order', () => {
  it('sorts an array field ascending by its smallest element', async () => {
    const documents = [
      { _id: 1, v: [1, 9] },
      { _id: 2, v: [5] },
      { _id: 3, v: [3, 4] },
      { _id: 4, v: 2 },
    ];
    expect(await idsSortedBy(documents, { v: 1 })).toEqual([1, 4, 3, 2]);
  });

  it('sorts an array field descending by its largest element', async () => {
    const documents = [
      { _id: 1, v: [1, 9] },
      { _id: 2, v: [5] },
      { _id: 3, v: [3, 4] },
      { _id: 4, v: 6 },
    ];
    expect(await idsSortedBy(documents, { v: -1 })).toEqual([1, 4, 2, 3]);
  });

  it('sorts an empty array before null and missing fields', async () => {
    // "A comparison of an empty array ... treats the empty array as less than null or a missing field."
    const documents = [{ _id: 1, v: null }, { _id: 2 }, { _id: 3, v: [] }, { _id: 4, v: 0 }];
    expect(await idsSortedBy(documents, { v: 1, _id: 1 })).toEqual([3, 1, 2, 4]);
  });

  it('sorts values of different types ascending in BSON order: null, numbers, strings, objects, ObjectId, booleans, dates', async () => {
    expect(await idsSortedBy(oneOfEachType, { v: 1, _id: 1 })).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
  });

  it('reverses the BSON type order when sorting descending', async () => {
    expect(await idsSortedBy(oneOfEachType, { v: -1, _id: 1 })).toEqual(['h', 'g', 'f', 'e', 'd', 'c', 'a', 'b']);
  });

  it('orders objects below arrays in comparisons of whole values, as aggregation expressions do', async () => {
    // A sort key of an array field is one of its elements, so only a whole-value comparison shows where arrays
    // fall in the BSON order.
    const collection = database.collection('compared');
    await collection.insertOne({ nothing: null, number: 5, text: 'x', object: { a: 1 }, array: [1], id: new ObjectId(), flag: false, when: new Date(0) });
    const [compared] = await collection
      .aggregate([
        {
          $project: {
            _id: 0,
            ascending: [
              { $lt: ['$nothing', '$number'] },
              { $lt: ['$number', '$text'] },
              { $lt: ['$text', '$object'] },
              { $lt: ['$object', '$array'] },
              { $lt: ['$array', '$id'] },
              { $lt: ['$id', '$flag'] },
              { $lt: ['$flag', '$when'] },
            ],
          },
        },
      ])
      .toArray();
    expect(compared).toEqual({ ascending: [true, true, true, true, true, true, true] });
  });

  it('sorts numbers of different BSON types by value', async () => {
    const documents = [
      { _id: 1, v: new Int32(3) },
      { _id: 2, v: new Double(2.5) },
      { _id: 3, v: Long.fromNumber(4) },
      { _id: 4, v: Decimal128.fromString('3.5') },
    ];
    expect(await idsSortedBy(documents, { v: 1 })).toEqual([2, 1, 4, 3]);
  });

  it('sorts strings by simple binary comparison: upper case before lower case', async () => {
    const documents = ['b', 'B', 'a', 'A'].map((v, n) => ({ _id: n, v }));
    expect(await idsSortedBy(documents, { v: 1 })).toEqual([3, 1, 2, 0]);
  });

  it('sorts on a nested path', async () => {
    const documents = [
      { _id: 1, name: { family: 'Lee' } },
      { _id: 2, name: { family: 'Adams' } },
      { _id: 3, name: { family: 'Kim' } },
    ];
    expect(await idsSortedBy(documents, { 'name.family': 1 })).toEqual([2, 3, 1]);
  });

  it('returns the same order on every page when a unique tie-breaker follows a key with ties', async () => {
    const collection = database.collection('paged');
    await collection.insertMany(Array.from({ length: 30 }, (_, n) => ({ _id: 29 - n, group: n % 3 })));
    const sort: Sort = { group: 1, _id: 1 };
    const all = (await collection.find().sort(sort).toArray()).map((document) => document._id);
    const pages: unknown[] = [];
    for (let skip = 0; skip < 30; skip += 7) {
      pages.push(...(await collection.find().sort(sort).skip(skip).limit(7).toArray()).map((document) => document._id));
    }
    expect(pages).toEqual(all);
    expect(all.slice(0, 4)).toEqual([2, 5, 8, 11]);
  });
});
