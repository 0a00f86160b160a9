/**
 * Conditions matched directly (equality, $in, ranges, $elemMatch) must answer exactly as the full query matcher
 * (mingo with the engine's corrections) does, on documents with arrays, nested arrays, subdocuments, missing
 * fields and values of every type bracket.
 * https://www.mongodb.com/docs/manual/tutorial/query-arrays/ ,
 * https://www.mongodb.com/docs/manual/reference/operator/query/elemMatch/
 */
import { Query } from 'mingo/query';
import { ObjectId, type Document } from 'bson';
import { compileFilter, queryOptions } from '../../../src/embedded-mongo/engine/matcher';
import { compileFastCondition } from '../../../src/embedded-mongo/engine/fast-conditions';

/** mulberry32: a small seeded generator, so a failure reproduces. */
function generator(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = generator(7);
const int = (n: number): number => Math.floor(random() * n);
const pick = <T>(values: readonly T[]): T => values[int(values.length)] as T;

const ids = [new ObjectId('000000000000000000000001'), new ObjectId('000000000000000000000002')];
// Numbers are JS numbers, as the wire delivers int32, int64 and double (bson promotes them); mingo, the reference
// here, does not compare bson's Int32/Long wrappers by value.
const scalars: (() => unknown)[] = [
  () => int(5),
  () => int(5) + 0.5,
  () => pick(['a', 'b', 'c', '']),
  () => new Date(Date.UTC(2000 + int(3), 0, 1)),
  () => pick(ids),
  () => random() < 0.5,
  () => null,
];
const scalar = (): unknown => pick(scalars)();
// At most one array along any path, as in the documents FHIR search stores (an array of subdocuments with scalar
// fields, or an array of scalars): through two arrays mingo, the reference, reads paths differently from mongod
// (the contract suite holds mongod's answers for those).
const subdocument = (depth: number, belowArray: boolean): Document => {
  const doc: Document = {};
  for (const key of ['p', 'x', 'y']) if (random() < 0.7) doc[key] = value(depth + 1, belowArray);
  return doc;
};
function value(depth = 0, belowArray = false): unknown {
  const roll = random();
  if (depth > 2 || roll < 0.45) return scalar();
  if (roll < 0.85 && !belowArray) {
    if (roll < 0.65) return Array.from({ length: int(4) }, () => scalar());
    return Array.from({ length: int(4) }, () => (random() < 0.85 ? subdocument(depth, true) : scalar()));
  }
  return subdocument(depth, belowArray);
}
const documents = Array.from({ length: 300 }, (_, i) => {
  const doc: Document = { _id: i };
  for (const key of ['a', 'b', 'c']) if (random() < 0.85) doc[key] = value();
  return doc;
});

const operand = (): unknown => {
  let v = scalar();
  while (v === null) v = scalar();
  return v;
};
const valueCondition = (): unknown => {
  switch (int(6)) {
    case 0:
      return operand();
    case 1:
      return { $eq: operand() };
    case 2:
      return { $in: [operand(), operand()] };
    case 3:
      return { [pick(['$gt', '$gte', '$lt', '$lte'])]: operand() };
    case 4: {
      const low = operand();
      return { [pick(['$gt', '$gte'])]: low, [pick(['$lt', '$lte'])]: random() < 0.7 ? low : operand() };
    }
    default:
      return { $ne: operand() };
  }
};
const isOperators = (value: unknown): value is Document =>
  typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype && Object.keys(value).every((k) => k.startsWith('$'));
// $elemMatch is only generated on single-field paths: on a dotted path through an array mingo, the reference,
// also looks into the scalars it reaches, where mongod matches only arrays (see the contract suite).
function condition(depth = 0): Document {
  const roll = random();
  if (depth < 2 && roll < 0.25) {
    if (random() < 0.4) {
      const operators = valueCondition();
      return { [pick(['a', 'b', 'c', 'x'])]: { $elemMatch: isOperators(operators) ? operators : { $eq: operators } } };
    }
    const inner: Document = {};
    for (let n = 1 + int(2); n > 0; n--) Object.assign(inner, condition(depth + 1));
    return { [pick(['a', 'b', 'c', 'x'])]: { $elemMatch: inner } };
  }
  if (depth < 2 && roll < 0.35) return { $and: [condition(depth + 1), condition(depth + 1)] };
  return { [pick(['p', 'x', 'y', ...(depth === 0 ? ['a', 'b', 'c', 'a.p', 'a.x', 'c.y'] : [])])]: valueCondition() };
}

describe('conditions matched directly', () => {
  it('answers as the full matcher for 600 random filters on 300 random documents', () => {
    let direct = 0;
    for (let n = 0; n < 600; n++) {
      const filter: Document = {};
      for (let c = 1 + int(3); c > 0; c--) Object.assign(filter, condition());
      const reference = new Query(filter, queryOptions());
      const compiled = compileFilter(filter);
      if (Object.entries(filter).some(([key, cond]) => compileFastCondition(key, cond))) direct++;
      for (const doc of documents) {
        const expected = reference.test(doc);
        if (compiled(doc) !== expected) expect({ filter, doc, matches: compiled(doc) }).toEqual({ filter, doc, matches: expected });
      }
    }
    // The generated filters mostly take the direct path, not mingo's.
    expect(direct).toBeGreaterThan(300);
  });

  it('leaves documents with nested arrays to mingo under $elemMatch', () => {
    const filter = { a: { $elemMatch: { $gte: 5 } } };
    const doc = { a: [1, [6]] };
    expect(compileFilter(filter)(doc)).toBe(new Query(filter, queryOptions()).test(doc));
    expect(compileFastCondition('a', filter.a)?.(doc)).toBeUndefined();
  });

  it('matches a range on an array when different elements satisfy each end', () => {
    expect(compileFilter({ a: { $gt: 3, $lt: 6 } })({ a: [1, 10] })).toBe(true);
    expect(compileFilter({ a: { $elemMatch: { $gt: 3, $lt: 6 } } })({ a: [1, 10] })).toBe(false);
  });

  it('never matches a range across type brackets', () => {
    expect(compileFilter({ a: { $gte: 5 } })({ a: '9' })).toBe(false);
    expect(compileFilter({ a: { $gte: '' } })({ a: 9 })).toBe(false);
    expect(compileFilter({ a: { $lt: new Date(0) } })({ a: -1 })).toBe(false);
  });

  it('matches $elemMatch only on arrays, with every condition on the same element', () => {
    const query = compileFilter({ d: { $elemMatch: { p: 'birthdate', hi: { $gte: 2000 } } } });
    expect(query({ d: [{ p: 'birthdate', hi: 1990 }, { p: 'updated', hi: 2024 }] })).toBe(false);
    expect(query({ d: [{ p: 'updated', hi: 1 }, { p: 'birthdate', hi: 2005 }] })).toBe(true);
    expect(query({ d: { p: 'birthdate', hi: 2005 } })).toBe(false);
  });
});
