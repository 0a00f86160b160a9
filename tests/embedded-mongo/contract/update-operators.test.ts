/**
 * Field, array and date update operators, one behaviour per case.
 * https://www.mongodb.com/docs/manual/reference/operator/update/
 */
import { Timestamp, type Document } from 'mongodb';
import { useContractDatabase } from './fixtures/contract-database';

const database = useContractDatabase();

/**
 * Stores `before`, applies `update` to it and returns the stored result. `update` is a plain document because the
 * driver's typed UpdateFilter cannot check operators against a schemaless collection.
 */
async function applyUpdate(before: Document, update: Document): Promise<Document | null> {
  const documents = database.collection('updated');
  await documents.insertOne({ _id: 1, ...before });
  await documents.updateOne({ _id: 1 }, update);
  return documents.findOne({ _id: 1 });
}

describe('field update operators', () => {
  it('$set replaces a value and creates missing nested paths', async () => {
    expect(await applyUpdate({ a: 1 }, { $set: { a: 2, 'b.c.d': 3 } })).toEqual({ _id: 1, a: 2, b: { c: { d: 3 } } });
  });

  it('reports matchedCount 1 and modifiedCount 0 when $set writes the value already stored', async () => {
    const documents = database.collection('updated');
    await documents.insertOne({ _id: 1, a: 1 });
    const result = await documents.updateOne({ _id: 1 }, { $set: { a: 1 } });
    expect({ matched: result.matchedCount, modified: result.modifiedCount }).toEqual({ matched: 1, modified: 0 });
  });

  it('$unset removes top-level and nested fields', async () => {
    expect(await applyUpdate({ a: 1, b: 2, n: { x: 1, y: 2 } }, { $unset: { b: '', 'n.x': '' } })).toEqual({ _id: 1, a: 1, n: { y: 2 } });
  });

  it('$inc adds to a number and sets a missing field to the increment', async () => {
    expect(await applyUpdate({ n: 1 }, { $inc: { n: 2, m: -5 } })).toEqual({ _id: 1, n: 3, m: -5 });
  });

  it('$mul multiplies a number and sets a missing field to 0', async () => {
    // "If the field does not exist in a document, $mul creates the field and sets the value to zero".
    expect(await applyUpdate({ price: 10 }, { $mul: { price: 1.5, quantity: 2 } })).toEqual({ _id: 1, price: 15, quantity: 0 });
  });

  it('$min lowers a value only when the given one is smaller', async () => {
    expect(await applyUpdate({ low: 5, other: 5 }, { $min: { low: 3, other: 7 } })).toEqual({ _id: 1, low: 3, other: 5 });
  });

  it('$max raises a value only when the given one is larger', async () => {
    expect(await applyUpdate({ high: 5, other: 5 }, { $max: { high: 9, other: 1 } })).toEqual({ _id: 1, high: 9, other: 5 });
  });

  it('$rename moves top-level and nested fields', async () => {
    expect(await applyUpdate({ old: 1, n: { a: 2 } }, { $rename: { old: 'renamed', 'n.a': 'n.b' } })).toEqual({ _id: 1, renamed: 1, n: { b: 2 } });
  });

  it('$currentDate sets a Date by default and a Timestamp with $type: "timestamp"', async () => {
    const before = Date.now();
    const updated = await applyUpdate({}, { $currentDate: { changedAt: true, changedTs: { $type: 'timestamp' } } });
    expect(updated?.changedAt).toBeInstanceOf(Date);
    // A minute of tolerance covers the clock of a real server on another machine.
    expect(Math.abs((updated?.changedAt as Date).getTime() - before)).toBeLessThan(60_000);
    expect(updated?.changedTs).toBeInstanceOf(Timestamp);
  });
});

describe('array update operators', () => {
  it('$push appends one value', async () => {
    expect(await applyUpdate({ v: [1] }, { $push: { v: 2 } })).toEqual({ _id: 1, v: [1, 2] });
  });

  it('$push creates the array when the field is missing', async () => {
    expect(await applyUpdate({}, { $push: { v: 'first' } })).toEqual({ _id: 1, v: ['first'] });
  });

  it('$push with $each, $sort and $slice appends, sorts the whole array, then keeps the first n', async () => {
    // $sort and $slice apply to the array after the $each values are added, whatever their order in the spec.
    expect(await applyUpdate({ scores: [4, 7] }, { $push: { scores: { $each: [5, 1, 9], $sort: -1, $slice: 3 } } })).toEqual({ _id: 1, scores: [9, 7, 5] });
  });

  it('$push with $sort on a field of subdocuments and a negative $slice keeps the last n', async () => {
    const update = { $push: { items: { $each: [{ s: 2 }, { s: 5 }], $sort: { s: 1 }, $slice: -2 } } };
    expect(await applyUpdate({ items: [{ s: 4 }, { s: 1 }] }, update)).toEqual({ _id: 1, items: [{ s: 4 }, { s: 5 }] });
  });

  it('$addToSet with $each adds only the values not already present, once', async () => {
    expect(await applyUpdate({ tags: ['a'] }, { $addToSet: { tags: { $each: ['a', 'b', 'b', 'c'] } } })).toEqual({ _id: 1, tags: ['a', 'b', 'c'] });
  });

  it('$pull removes every element matching a condition', async () => {
    expect(await applyUpdate({ v: [1, 5, 6, 9, 6] }, { $pull: { v: { $gte: 6 } } })).toEqual({ _id: 1, v: [1, 5] });
  });

  it('$pull removes subdocuments matching a query on their fields', async () => {
    const before = { items: [{ k: 'x', n: 1 }, { k: 'y', n: 2 }, { k: 'x', n: 3 }] };
    expect(await applyUpdate(before, { $pull: { items: { k: 'x' } } })).toEqual({ _id: 1, items: [{ k: 'y', n: 2 }] });
  });

  it('$pop with 1 removes the last element', async () => {
    expect(await applyUpdate({ v: [1, 2, 3] }, { $pop: { v: 1 } })).toEqual({ _id: 1, v: [1, 2] });
  });

  it('$pop with -1 removes the first element', async () => {
    expect(await applyUpdate({ v: [1, 2, 3] }, { $pop: { v: -1 } })).toEqual({ _id: 1, v: [2, 3] });
  });
});
