/**
 * What a filter matches: null and missing fields, arrays, type bracketing, $regex, $exists, $type and $expr.
 * https://www.mongodb.com/docs/manual/tutorial/query-for-null-fields/ ,
 * https://www.mongodb.com/docs/manual/tutorial/query-arrays/ ,
 * https://www.mongodb.com/docs/manual/reference/method/db.collection.find/#type-bracketing ,
 * https://www.mongodb.com/docs/manual/reference/operator/query/
 */
import { Decimal128, Double, Int32, Long, type Filter } from 'mongodb';
import { useContractDatabase, type ContractDocument } from './fixtures/contract-database';

const database = useContractDatabase();

/** Stores `documents` (each with an _id) and returns the sorted _ids of those matching `filter`. */
async function idsMatching(documents: ContractDocument[], filter: Filter<ContractDocument>): Promise<unknown[]> {
  const collection = database.collection('matched');
  await collection.insertMany(documents);
  return (await collection.find(filter, { projection: { _id: 1 } }).sort({ _id: 1 }).toArray()).map((document) => document._id);
}

describe('null and missing fields', () => {
  const nullable = [{ _id: 1, a: null }, { _id: 2 }, { _id: 3, a: 1 }, { _id: 4, a: 'x' }];

  it('equality to null matches documents where the field is null or missing', async () => {
    expect(await idsMatching(nullable, { a: null })).toEqual([1, 2]);
  });

  it('$ne: null matches only documents where the field holds a value', async () => {
    expect(await idsMatching(nullable, { a: { $ne: null } })).toEqual([3, 4]);
  });

  it('$in: [null] matches null and missing fields like equality to null', async () => {
    expect(await idsMatching(nullable, { a: { $in: [null, 1] } })).toEqual([1, 2, 3]);
  });

  describe('through an array of subdocuments', () => {
    // Document 1 has one element with b and one without: the one without makes `'a.b': null` true.
    const subdocuments = [
      { _id: 1, a: [{ b: 1 }, { c: 2 }] },
      { _id: 2, a: [{ b: 1 }, { b: 2 }] },
      { _id: 3, a: [{ b: null }] },
      { _id: 4 },
    ];

    it('equality to null matches when some element lacks the field or holds null', async () => {
      expect(await idsMatching(subdocuments, { 'a.b': null })).toEqual([1, 3, 4]);
    });

    it('$ne: null does not match when some element lacks the field', async () => {
      expect(await idsMatching(subdocuments, { 'a.b': { $ne: null } })).toEqual([2]);
    });

    it('$in: [null] matches like equality to null', async () => {
      expect(await idsMatching(subdocuments, { 'a.b': { $in: [null] } })).toEqual([1, 3, 4]);
    });

    it('$nin: [null] matches like $ne: null', async () => {
      expect(await idsMatching(subdocuments, { 'a.b': { $nin: [null] } })).toEqual([2]);
    });
  });
});

describe('arrays', () => {
  const tagged = [
    { _id: 1, tags: ['a', 'b'] },
    { _id: 2, tags: ['b', 'a'] },
    { _id: 3, tags: ['a'] },
    { _id: 4, tags: 'a' },
    { _id: 5, tags: ['a', 'b', 'c'] },
  ];

  it('equality to a scalar matches arrays containing it and the scalar itself', async () => {
    expect(await idsMatching(tagged, { tags: 'b' })).toEqual([1, 2, 5]);
  });

  it('equality to an array matches that exact array, order included', async () => {
    expect(await idsMatching(tagged, { tags: ['a', 'b'] })).toEqual([1]);
  });

  it('$all matches arrays containing every listed value, in any order', async () => {
    expect(await idsMatching(tagged, { tags: { $all: ['b', 'a'] } })).toEqual([1, 2, 5]);
  });

  it('$size matches arrays of exactly that length', async () => {
    expect(await idsMatching(tagged, { tags: { $size: 2 } })).toEqual([1, 2]);
  });

  const scored = [
    { _id: 1, scores: [1, 10] },
    { _id: 2, scores: [4] },
    { _id: 3, scores: [7, 20] },
  ];

  it('a range on an array matches when any element satisfies each bound, not necessarily the same one', async () => {
    expect(await idsMatching(scored, { scores: { $gt: 3, $lt: 6 } })).toEqual([1, 2]);
  });

  it('$elemMatch requires one element to satisfy every condition', async () => {
    expect(await idsMatching(scored, { scores: { $elemMatch: { $gt: 3, $lt: 6 } } })).toEqual([2]);
  });

  it('a range on a path through an array of subdocuments also reads the arrays it ends at, element by element', async () => {
    const nested = [
      { _id: 1, a: [{ x: [1, 5] }, { x: 2 }] },
      { _id: 2, a: [{ x: [1, 2] }] },
    ];
    expect(await idsMatching(nested, { 'a.x': { $gte: 4 } })).toEqual([1]);
    expect(await idsMatching(nested, { 'a.x': { $gt: 1, $lt: 2 } })).toEqual([1, 2]);
  });

  it('$elemMatch on a path through an array of subdocuments matches only arrays at the end of the path', async () => {
    const nested = [
      { _id: 1, a: [{ p: 0.5 }, { p: 3.5 }] },
      { _id: 2, a: [{ p: [0.5, 9] }] },
    ];
    expect(await idsMatching(nested, { 'a.p': { $elemMatch: { $lte: 2.5 } } })).toEqual([2]);
  });

  it('$elemMatch on subdocuments requires both fields in the same element', async () => {
    const coded = [
      { _id: 1, codes: [{ system: 's1', code: 'x' }, { system: 's2', code: 'y' }] },
      { _id: 2, codes: [{ system: 's1', code: 'y' }] },
    ];
    expect(await idsMatching(coded, { codes: { $elemMatch: { system: 's1', code: 'y' } } })).toEqual([2]);
    expect(await idsMatching(coded, { 'codes.system': 's1', 'codes.code': 'y' })).toEqual([1, 2]);
  });
});

describe('$elemMatch with compound multikey indexes', () => {
  // https://www.mongodb.com/docs/manual/reference/operator/query/elemMatch/ ,
  // https://www.mongodb.com/docs/manual/core/multikey-index-bounds/#compound-bounds-for-multikey-index
  // Indexes never change what a query matches: the answers below hold with and without them.
  const year = (y: number): Date => new Date(Date.UTC(y, 0, 1));

  /** Creates `indexes`, stores `documents` and returns the sorted _ids of those matching `filter`. */
  async function idsMatchingIndexed(indexes: Record<string, 1>[], documents: ContractDocument[], filter: Filter<ContractDocument>): Promise<unknown[]> {
    const collection = database.collection('indexed');
    for (const key of indexes) await collection.createIndex(key);
    await collection.insertMany(documents);
    return (await collection.find(filter, { projection: { _id: 1 } }).sort({ _id: 1 }).toArray()).map((document) => document._id);
  }

  const dateIndexes: Record<string, 1>[] = [
    { tenant: 1, 'sp.d.p': 1, 'sp.d.lo': 1 },
    { tenant: 1, 'sp.d.p': 1, 'sp.d.hi': 1 },
  ];
  const dated = [
    // The birthdate element is before 2000; only the other element is after it.
    { _id: 1, tenant: 'T', sp: { d: [{ p: 'birthdate', lo: year(1990), hi: year(1990) }, { p: 'updated', lo: year(2024), hi: year(2024) }] } },
    { _id: 2, tenant: 'T', sp: { d: [{ p: 'birthdate', lo: year(2005), hi: year(2005) }] } },
    { _id: 3, tenant: 'T', sp: { d: [{ p: 'updated', lo: year(2030), hi: year(2030) }] } },
    { _id: 4, tenant: 'U', sp: { d: [{ p: 'birthdate', lo: year(2005), hi: year(2005) }] } },
    // Two birthdate elements, one on each side of [2000, 2010).
    { _id: 5, tenant: 'T', sp: { d: [{ p: 'birthdate', lo: year(1980), hi: year(1980) }, { p: 'birthdate', lo: year(2020), hi: year(2020) }] } },
    // A subdocument, not an array: $elemMatch matches only array fields.
    { _id: 6, tenant: 'T', sp: { d: { p: 'birthdate', lo: year(2005), hi: year(2005) } } },
  ];

  it('matches only documents where one element satisfies every condition', async () => {
    const filter = { tenant: 'T', 'sp.d': { $elemMatch: { p: 'birthdate', hi: { $gte: year(2000) } } } };
    expect(await idsMatchingIndexed(dateIndexes, dated, filter)).toEqual([2, 5]);
  });

  it('matches, without $elemMatch, documents where different elements satisfy the conditions', async () => {
    const filter = { tenant: 'T', 'sp.d.p': 'birthdate', 'sp.d.hi': { $gte: year(2000) } };
    expect(await idsMatchingIndexed(dateIndexes, dated, filter)).toEqual([1, 2, 5, 6]);
  });

  it('applies both ends of a range under $elemMatch to the same element', async () => {
    const filter = { tenant: 'T', 'sp.d': { $elemMatch: { p: 'birthdate', lo: { $gte: year(2000), $lt: year(2010) } } } };
    expect(await idsMatchingIndexed(dateIndexes, dated, filter)).toEqual([2]);
  });

  it('applies the two ends of a range to any elements without $elemMatch', async () => {
    const filter = { tenant: 'T', 'sp.d.p': 'birthdate', 'sp.d.lo': { $gte: year(2000), $lt: year(2010) } };
    expect(await idsMatchingIndexed(dateIndexes, dated, filter)).toEqual([1, 2, 5, 6]);
  });

  it('requires each of two $elemMatch clauses on the same array to hold for some element, not the same one', async () => {
    const filter = {
      $and: [
        { tenant: 'T' },
        { 'sp.d': { $elemMatch: { p: 'birthdate', hi: { $gte: year(2000) } } } },
        { 'sp.d': { $elemMatch: { p: 'birthdate', lo: { $lt: year(2000) } } } },
      ],
    };
    expect(await idsMatchingIndexed(dateIndexes, dated, filter)).toEqual([5]);
  });

  it('matches quantities by code and value in the same element', async () => {
    const quantities = [
      { _id: 1, tenant: 'T', sp: { n: [{ p: 'value', lo: 5, hi: 5, s: 'http://unitsofmeasure.org', c: 'mg' }, { p: 'value', lo: 50, hi: 50, s: 'http://unitsofmeasure.org', c: 'kg' }] } },
      { _id: 2, tenant: 'T', sp: { n: [{ p: 'value', lo: 40, hi: 60, s: 'http://unitsofmeasure.org', c: 'mg' }] } },
      { _id: 3, tenant: 'T', sp: { n: [{ p: 'other', lo: 50, hi: 50, s: 'http://unitsofmeasure.org', c: 'mg' }] } },
    ];
    const filter = { tenant: 'T', 'sp.n': { $elemMatch: { p: 'value', lo: { $lte: 50 }, hi: { $gte: 50 }, c: 'mg' } } };
    expect(await idsMatchingIndexed([{ tenant: 1, 'sp.n.p': 1, 'sp.n.lo': 1 }], quantities, filter)).toEqual([2]);
    const loose = { tenant: 'T', 'sp.n.p': 'value', 'sp.n.lo': { $lte: 50 }, 'sp.n.hi': { $gte: 50 }, 'sp.n.c': 'mg' };
    expect(await idsMatchingIndexed([{ tenant: 1, 'sp.n.p': 1, 'sp.n.lo': 1 }], quantities, loose)).toEqual([1, 2]);
  });

  it('applies a prefix range on an array of strings to one element under $elemMatch, to any elements without', async () => {
    const keyed = [
      { _id: 1, tenant: 'T', sp: { k: ['a', 'name=s:smith', 'z'] } },
      { _id: 2, tenant: 'T', sp: { k: ['a', 'z'] } },
      { _id: 3, tenant: 'T', sp: { k: ['name=s:jones'] } },
    ];
    const indexes: Record<string, 1>[] = [{ tenant: 1, 'sp.k': 1 }];
    const within = { tenant: 'T', 'sp.k': { $elemMatch: { $gte: 'name=s:smi', $lt: 'name=s:smj' } } };
    expect(await idsMatchingIndexed(indexes, keyed, within)).toEqual([1]);
    const across = { tenant: 'T', 'sp.k': { $gte: 'name=s:smi', $lt: 'name=s:smj' } };
    expect(await idsMatchingIndexed(indexes, keyed, across)).toEqual([1, 2]);
  });

  it('returns $elemMatch results sorted and limited', async () => {
    const collection = database.collection('paged');
    for (const key of dateIndexes) await collection.createIndex(key);
    await collection.insertMany(dated);
    const filter = { tenant: 'T', 'sp.d': { $elemMatch: { p: { $in: ['birthdate', 'updated'] }, hi: { $gte: year(2000) } } } };
    const page = await collection.find(filter, { projection: { _id: 1 } }).sort({ _id: -1 }).limit(2).toArray();
    expect(page.map((document) => document._id)).toEqual([5, 3]);
  });
});

describe('type bracketing', () => {
  const mixed = [
    { _id: 1, v: 10 },
    { _id: 2, v: '20' },
    { _id: 3, v: new Date(0) },
    { _id: 4, v: 3 },
    { _id: 5, v: true },
  ];

  it('a numeric range does not match strings, dates or booleans', async () => {
    expect(await idsMatching(mixed, { v: { $gt: 5 } })).toEqual([1]);
  });

  it('a string range matches only strings', async () => {
    expect(await idsMatching(mixed, { v: { $gte: '' } })).toEqual([2]);
  });

  it('compares numbers of different BSON types by value', async () => {
    const numbers = [
      { _id: 1, v: new Int32(5) },
      { _id: 2, v: Long.fromNumber(5) },
      { _id: 3, v: new Double(5) },
      { _id: 4, v: Decimal128.fromString('5.0') },
      { _id: 5, v: new Double(5.5) },
    ];
    expect(await idsMatching(numbers, { v: 5 })).toEqual([1, 2, 3, 4]);
  });
});

describe('element and evaluation operators', () => {
  it('$exists: true matches fields holding any value, null included', async () => {
    expect(await idsMatching([{ _id: 1, a: null }, { _id: 2 }, { _id: 3, a: 0 }], { a: { $exists: true } })).toEqual([1, 3]);
  });

  it('$exists: false matches only documents without the field', async () => {
    expect(await idsMatching([{ _id: 1, a: null }, { _id: 2 }, { _id: 3, a: 0 }], { a: { $exists: false } })).toEqual([2]);
  });

  it('$type matches by BSON type name, with "number" covering every numeric type', async () => {
    const typed = [
      { _id: 1, v: 'text' },
      { _id: 2, v: new Int32(1) },
      { _id: 3, v: new Double(1.5) },
      { _id: 4, v: Long.fromNumber(2) },
      { _id: 5, v: null },
    ];
    expect(await idsMatching(typed, { v: { $type: 'string' } })).toEqual([1]);
    expect(await idsMatching(typed, { v: { $type: 'number' } })).toEqual([2, 3, 4]);
    expect(await idsMatching(typed, { v: { $type: 'null' } })).toEqual([5]);
  });

  it('$type "array" matches fields holding an array', async () => {
    expect(await idsMatching([{ _id: 1, v: [] }, { _id: 2, v: [1] }, { _id: 3, v: 1 }], { v: { $type: 'array' } })).toEqual([1, 2]);
  });

  it('$regex matches strings and honours the i option', async () => {
    const names = [
      { _id: 1, name: 'Alice' },
      { _id: 2, name: 'alfred' },
      { _id: 3, name: 'Bob' },
      { _id: 4, name: 42 },
    ];
    expect(await idsMatching(names, { name: { $regex: '^al', $options: 'i' } })).toEqual([1, 2]);
    expect(await idsMatching(names, { name: { $regex: '^al' } })).toEqual([2]);
  });

  it('a JavaScript RegExp works as a $regex, and the m option anchors at line starts', async () => {
    const notes = [
      { _id: 1, text: 'first line\nSecond line' },
      { _id: 2, text: 'no second here' },
    ];
    expect(await idsMatching(notes, { text: /^second/im })).toEqual([1]);
    expect(await idsMatching(notes, { text: { $regex: '^second', $options: 'i' } })).toEqual([]);
  });

  it('$regex matches array elements', async () => {
    expect(await idsMatching([{ _id: 1, names: ['Ann', 'Bo'] }, { _id: 2, names: ['Cy'] }], { names: /^B/ })).toEqual([1]);
  });

  it('$expr compares two fields of the same document', async () => {
    const budgets = [
      { _id: 1, spent: 120, budget: 100 },
      { _id: 2, spent: 80, budget: 100 },
    ];
    expect(await idsMatching(budgets, { $expr: { $gt: ['$spent', '$budget'] } })).toEqual([1]);
  });

  it('$and, $or and $nor combine conditions', async () => {
    const numbers = [1, 2, 3, 4, 5, 6].map((n) => ({ _id: n, n }));
    expect(await idsMatching(numbers, { $or: [{ n: { $lt: 2 } }, { n: { $gt: 5 } }] })).toEqual([1, 6]);
    expect(await idsMatching(numbers, { $and: [{ n: { $gt: 2 } }, { n: { $lt: 5 } }] })).toEqual([3, 4]);
    expect(await idsMatching(numbers, { $nor: [{ n: { $lt: 3 } }, { n: { $gt: 4 } }] })).toEqual([3, 4]);
  });

  it('$not negates an operator expression and matches missing fields', async () => {
    expect(await idsMatching([{ _id: 1, n: 1 }, { _id: 2, n: 9 }, { _id: 3 }], { n: { $not: { $gt: 5 } } })).toEqual([1, 3]);
  });
});
